//! Native backend discovery. `make test` installs Mesa's lavapipe and sets SHOPFLOOR_EXPECT_GPU=1,
//! so there a missing adapter is a failure, not a skip.

#[test]
fn cpu_is_always_available() {
    let b = pollster::block_on(shopfloor::backend::probe());
    assert!(b.cpu.available);
}

#[test]
fn gpu_status_is_consistent_and_present_when_expected() {
    let s = pollster::block_on(shopfloor::backend::probe()).webgpu;
    assert_eq!(s.available, s.adapter.is_some());
    assert_eq!(s.available, s.reason.is_none());
    if std::env::var_os("SHOPFLOOR_EXPECT_GPU").is_some() {
        let a = s.adapter.unwrap_or_else(|| panic!("no adapter: {:?}", s.reason));
        assert!(!a.name.is_empty());
        assert!(a.max_storage_buffer_binding_size >= 128 << 20);
        assert!(a.max_compute_invocations_per_workgroup >= 256);
    }
}
