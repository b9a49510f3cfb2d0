//! The one wasm/native difference of the GPU backend: waiting for a buffer mapping. Natively we
//! block on `device.poll`; in a browser the event loop resolves the mapping and we await it.

use super::error::GpuError;

#[cfg(not(target_arch = "wasm32"))]
pub async fn map_read(device: &wgpu::Device, buffer: &wgpu::Buffer) -> Result<(), GpuError> {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
    let s = slot.clone();
    buffer.map_async(wgpu::MapMode::Read, .., move |r| *s.lock().unwrap() = Some(r));
    // Another thread polling the same device may be the one that runs our callback: wait for
    // the slot, not only for the poll.
    let start = std::time::Instant::now();
    loop {
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(format!("waiting for the GPU: {e}")))?;
        if let Some(result) = slot.lock().unwrap().take() {
            return result.map_err(|e| GpuError::Readback(format!("reading results back from the GPU failed: {e}")));
        }
        if start.elapsed() > std::time::Duration::from_secs(600) {
            return Err(GpuError::Readback("the GPU did not finish the readback within 10 minutes".into()));
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

#[cfg(target_arch = "wasm32")]
pub async fn map_read(_device: &wgpu::Device, buffer: &wgpu::Buffer) -> Result<(), GpuError> {
    use std::cell::RefCell;
    use std::future::Future;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    type Slot = Rc<RefCell<(Option<Result<(), wgpu::BufferAsyncError>>, Option<Waker>)>>;
    struct Mapped(Slot);
    impl Future for Mapped {
        type Output = Result<(), wgpu::BufferAsyncError>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut s = self.0.borrow_mut();
            match s.0.take() {
                Some(r) => Poll::Ready(r),
                None => {
                    s.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }
    }
    let slot: Slot = Rc::new(RefCell::new((None, None)));
    let s = slot.clone();
    buffer.map_async(wgpu::MapMode::Read, .., move |r| {
        let waker = {
            let mut st = s.borrow_mut();
            st.0 = Some(r);
            st.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    });
    Mapped(slot)
        .await
        .map_err(|e| GpuError::Readback(format!("reading results back from the GPU failed (device lost?): {e}")))
}
