//! Four f32 lanes: wasm SIMD where built with it (LLVM vectorised plain loops over small arrays
//! only partly, with lane shuffles), plain arrays elsewhere, so the kernels written with them run
//! (and are tested) natively too.

pub use imp::V4;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use std::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct V4(v128);

    impl V4 {
        #[inline(always)]
        pub fn splat(x: f32) -> V4 {
            V4(f32x4_splat(x))
        }

        #[inline(always)]
        pub fn at(s: &[f32], i: usize) -> V4 {
            let s = &s[i..i + 4];
            // SAFETY: four floats in bounds (sliced above); wasm loads need no alignment.
            V4(unsafe { v128_load(s.as_ptr() as *const v128) })
        }

        #[inline(always)]
        pub fn put(self, s: &mut [f32], i: usize) {
            let s = &mut s[i..i + 4];
            // SAFETY: as `at`.
            unsafe { v128_store(s.as_mut_ptr() as *mut v128, self.0) }
        }

        /// # Safety
        /// Four floats readable from `p`.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V4 {
            V4(unsafe { v128_load(p as *const v128) })
        }

        /// # Safety
        /// Four floats writable at `p`.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            unsafe { v128_store(p as *mut v128, self.0) }
        }

        /// The lanes' sum, as `(l0 + l1) + (l2 + l3)`.
        #[inline(always)]
        pub fn sum(self) -> f32 {
            let v = self.0;
            (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
                + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
        }
    }

    impl std::ops::Add for V4 {
        type Output = V4;
        #[inline(always)]
        fn add(self, o: V4) -> V4 {
            V4(f32x4_add(self.0, o.0))
        }
    }

    impl std::ops::Sub for V4 {
        type Output = V4;
        #[inline(always)]
        fn sub(self, o: V4) -> V4 {
            V4(f32x4_sub(self.0, o.0))
        }
    }

    impl std::ops::Mul<V4> for f32 {
        type Output = V4;
        #[inline(always)]
        fn mul(self, v: V4) -> V4 {
            V4(f32x4_mul(f32x4_splat(self), v.0))
        }
    }
    impl std::ops::Mul for V4 {
        type Output = V4;
        #[inline(always)]
        fn mul(self, o: V4) -> V4 {
            V4(f32x4_mul(self.0, o.0))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct V4([f32; 4]);

    impl V4 {
        pub fn splat(x: f32) -> V4 {
            V4([x; 4])
        }

        pub fn at(s: &[f32], i: usize) -> V4 {
            V4(s[i..i + 4].try_into().expect("four floats"))
        }

        pub fn put(self, s: &mut [f32], i: usize) {
            s[i..i + 4].copy_from_slice(&self.0);
        }

        /// # Safety
        /// Four floats readable from `p`.
        pub unsafe fn load(p: *const f32) -> V4 {
            V4(unsafe { std::ptr::read_unaligned(p as *const [f32; 4]) })
        }

        /// # Safety
        /// Four floats writable at `p`.
        pub unsafe fn store(self, p: *mut f32) {
            unsafe { std::ptr::write_unaligned(p as *mut [f32; 4], self.0) }
        }

        /// The lanes' sum, as `(l0 + l1) + (l2 + l3)`.
        pub fn sum(self) -> f32 {
            (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
        }
    }

    impl std::ops::Add for V4 {
        type Output = V4;
        fn add(self, o: V4) -> V4 {
            V4(std::array::from_fn(|i| self.0[i] + o.0[i]))
        }
    }

    impl std::ops::Sub for V4 {
        type Output = V4;
        fn sub(self, o: V4) -> V4 {
            V4(std::array::from_fn(|i| self.0[i] - o.0[i]))
        }
    }

    impl std::ops::Mul<V4> for f32 {
        type Output = V4;
        fn mul(self, v: V4) -> V4 {
            V4(v.0.map(|x| self * x))
        }
    }
    impl std::ops::Mul for V4 {
        type Output = V4;
        fn mul(self, o: V4) -> V4 {
            V4(std::array::from_fn(|i| self.0[i] * o.0[i]))
        }
    }
}
