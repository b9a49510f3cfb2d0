//! Adapter discovery: the ground floor of the GPU backend.

use serde::Serialize;

use super::error::GpuError;

/// What the adapter is, in the terms a user can act on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuAdapterInfo {
    /// Adapter name (native) or description (browsers often leave it empty for privacy).
    pub name: String,
    /// `"discrete"`, `"integrated"`, `"virtual"`, `"cpu"` (a software rasteriser) or `"other"`.
    pub device_type: &'static str,
    /// The API wgpu drives: `"vulkan"`, `"metal"`, `"dx12"`, `"gl"` or `"webgpu"` (browser).
    pub api: &'static str,
    pub driver: String,
    pub is_fallback_adapter: bool,
    pub subgroups: bool,
    pub shader_f16: bool,
    pub timestamp_query: bool,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
}

/// Whether WebGPU can run here, and if not, why.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuStatus {
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<GpuAdapterInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl GpuStatus {
    fn absent(reason: impl Into<String>) -> Self {
        GpuStatus { available: false, adapter: None, reason: Some(reason.into()) }
    }
}

/// Natively Vulkan, Metal or DX12 unless `WGPU_BACKEND` says otherwise: not OpenGL, whose EGL
/// set-up and tear-down on NVIDIA's driver deadlocked with another thread's `vkDestroyDevice`
/// (an H200, 2026-12-04), and whose adapters our kernels would not choose anyway.
fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = if cfg!(target_arch = "wasm32") { wgpu::Backends::BROWSER_WEBGPU } else { wgpu::Backends::PRIMARY };
    wgpu::Instance::new(desc.with_env())
}

/// Requests the high-performance adapter; the instance is dropped with it.
pub async fn request_adapter() -> Result<wgpu::Adapter, GpuError> {
    if let Some(reason) = browser_without_webgpu() {
        return Err(GpuError::Unavailable(reason));
    }
    let opts =
        wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() };
    instance().request_adapter(&opts).await.map_err(|e| {
        GpuError::Unavailable(if cfg!(target_arch = "wasm32") {
            format!("the browser offers WebGPU but returned no adapter (GPU blocklisted, disabled, or lost): {e}")
        } else {
            format!("no Vulkan/Metal/DX12 adapter found (install a GPU driver or Mesa's lavapipe): {e}")
        })
    })
}

pub async fn probe() -> GpuStatus {
    match request_adapter().await {
        Ok(adapter) => GpuStatus { available: true, adapter: Some(describe(&adapter)), reason: None },
        Err(reason) => GpuStatus::absent(reason.to_string()),
    }
}

fn describe(adapter: &wgpu::Adapter) -> GpuAdapterInfo {
    let info = adapter.get_info();
    let features = adapter.features();
    let limits = adapter.limits();
    GpuAdapterInfo {
        name: info.name,
        device_type: match info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete",
            wgpu::DeviceType::IntegratedGpu => "integrated",
            wgpu::DeviceType::VirtualGpu => "virtual",
            wgpu::DeviceType::Cpu => "cpu",
            wgpu::DeviceType::Other => "other",
        },
        api: match info.backend {
            wgpu::Backend::Vulkan => "vulkan",
            wgpu::Backend::Metal => "metal",
            wgpu::Backend::Dx12 => "dx12",
            wgpu::Backend::Gl => "gl",
            wgpu::Backend::BrowserWebGpu => "webgpu",
            _ => "other",
        },
        driver: [info.driver, info.driver_info].join(" ").trim().to_string(),
        is_fallback_adapter: info.device_type == wgpu::DeviceType::Cpu,
        subgroups: features.contains(wgpu::Features::SUBGROUP),
        shader_f16: features.contains(wgpu::Features::SHADER_F16),
        timestamp_query: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        subgroup_min_size: info.subgroup_min_size,
        subgroup_max_size: info.subgroup_max_size,
        max_buffer_size: limits.max_buffer_size,
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
        max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
    }
}

/// In a browser, `navigator.gpu` missing means no WebGPU at all; say so before wgpu tries.
#[cfg(target_arch = "wasm32")]
fn browser_without_webgpu() -> Option<String> {
    let global = js_sys::global();
    let navigator = js_sys::Reflect::get(&global, &"navigator".into()).ok()?;
    if navigator.is_undefined() {
        return Some("no `navigator` here (not a browser): WebGPU needs a browser or a native GPU driver".into());
    }
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).ok();
    match gpu {
        Some(g) if !g.is_undefined() && !g.is_null() => None,
        _ => Some(
            "this browser has no WebGPU (navigator.gpu is missing): use Chrome/Edge 113+ or Safari 26+, \
             or a secure context (https or localhost)"
                .into(),
        ),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn browser_without_webgpu() -> Option<String> {
    None
}

/// wgpu prints a browser's rejection as `JsValue(Name: message\n<stack>)`: keep `Name: message`.
fn tidy(e: impl std::fmt::Display) -> String {
    let s = e.to_string();
    let inner = s.strip_prefix("JsValue(").map_or(s.as_str(), |r| r.strip_suffix(')').unwrap_or(r));
    inner.lines().next().unwrap_or_default().trim().to_string()
}

/// A device and queue shared by every model of this process (or page), with the pipeline cache.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: GpuAdapterInfo,
    pipelines: std::sync::Mutex<std::collections::HashMap<super::kernels::Kernel, wgpu::ComputePipeline>>,
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The matrix-product kernels of this device, chosen on first use (`tune::gemm`).
    pub(super) matmul: std::sync::Mutex<Option<super::kernels::Gemm>>,
}

impl GpuContext {
    async fn create() -> Result<GpuContext, GpuError> {
        let adapter = request_adapter().await?;
        let info = describe(&adapter);
        // Ask for what the adapter can do: big activations need more than the default 128 MiB.
        let limits = adapter.limits();
        // Asked for where offered: timestamp queries serve profiles, subgroups the barrier-free
        // matmul (wgpu's browser backend offers neither subgroups nor, often, timestamps).
        let required_features = adapter.features() & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SUBGROUP);
        let desc = wgpu::DeviceDescriptor {
            label: Some("shopfloor"),
            required_limits: limits,
            required_features,
            ..Default::default()
        };
        let (device, queue) = adapter
            .request_device(&desc)
            .await
            .map_err(|e| GpuError::Unavailable(format!("the GPU adapter refused a device: {}", tidy(e))))?;
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |_, _| flag.store(true, std::sync::atomic::Ordering::SeqCst));
        // Errors are collected by error scopes where we can act on them; never abort the process.
        device.on_uncaptured_error(std::sync::Arc::new(|e| log_error(&format!("shopfloor: WebGPU error: {e}"))));
        Ok(GpuContext { device, queue, adapter: info, pipelines: Default::default(), lost, matmul: Default::default() })
    }

    /// The subgroup size `matmul_subgroup.wgsl` can rely on: the device has subgroups and the
    /// adapter runs every compute shader at one fixed size.
    pub fn fixed_subgroup_size(&self) -> Option<u32> {
        let (min, max) = (self.adapter.subgroup_min_size, self.adapter.subgroup_max_size);
        let usable = self.device.features().contains(wgpu::Features::SUBGROUP)
            && min == max
            && (4..=64).contains(&min)
            && min <= self.device.limits().max_compute_invocations_per_workgroup;
        usable.then_some(min)
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The pipeline of `kernel`, compiled on first use.
    pub fn pipeline(&self, kernel: super::kernels::Kernel) -> wgpu::ComputePipeline {
        let mut cache = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(kernel)
            .or_insert_with(|| {
                let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&kernel.name()),
                    source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
                });
                let constants = kernel.constants();
                self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&kernel.name()),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        ..Default::default()
                    },
                    cache: None,
                })
            })
            .clone()
    }
}

fn log_error(msg: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::error_1(&msg.into());
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{msg}");
}

#[cfg(not(target_arch = "wasm32"))]
static SHARED: std::sync::Mutex<Option<std::sync::Arc<GpuContext>>> = std::sync::Mutex::new(None);

#[cfg(target_arch = "wasm32")]
thread_local! {
    static SHARED: std::cell::RefCell<Option<std::sync::Arc<GpuContext>>> = const { std::cell::RefCell::new(None) };
}

/// The shared context, created on first use and again after a device loss.
#[allow(clippy::arc_with_non_send_sync)] // wasm: one thread, wgpu's browser types are not Send
pub async fn shared() -> Result<std::sync::Arc<GpuContext>, GpuError> {
    #[cfg(not(target_arch = "wasm32"))]
    let current = SHARED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    #[cfg(target_arch = "wasm32")]
    let current = SHARED.with(|s| s.borrow().clone());
    if let Some(ctx) = current.filter(|c| !c.is_lost()) {
        return Ok(ctx);
    }
    let ctx = std::sync::Arc::new(GpuContext::create().await?);
    #[cfg(not(target_arch = "wasm32"))]
    {
        // Threads that asked at once all made one: every caller keeps the first stored, so no
        // model holds a context of its own whose tear-down would race the others' work.
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        match shared.as_ref().filter(|c| !c.is_lost()) {
            Some(first) => return Ok(first.clone()),
            None => *shared = Some(ctx.clone()),
        }
    }
    #[cfg(target_arch = "wasm32")]
    SHARED.with(|s| *s.borrow_mut() = Some(ctx.clone()));
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    #[test]
    fn browser_rejections_read_as_one_line() {
        assert_eq!(
            super::tidy("JsValue(OperationError: the GPU process is gone\nundefined)"),
            "OperationError: the GPU process is gone"
        );
        assert_eq!(super::tidy("Device limit exceeded"), "Device limit exceeded");
    }
}
