//! Vision pipelines over the `Model` core: frame → pre-processing (per the model's manifest) →
//! model → post-processing → typed results in source-pixel coordinates. Pure Rust; the browser
//! and the CLI hand in RGBA frames.

pub mod boxes;
pub mod classify;
pub mod detect;
pub mod faces;
pub mod image;
pub mod load;
pub mod manifest;
pub mod math;
pub mod model_ref;
pub mod ocr;
pub mod preprocess;
mod run;
pub mod saliency;
pub mod svm;

pub use classify::{Classification, ImageClassifier};
pub use detect::{Detection, ObjectDetector};
pub use faces::{Face, FaceDetector};
pub use image::RgbaImage;
pub use manifest::Manifest;
pub use ocr::{TextLine, TextReader};
pub use saliency::Saliency;
pub use svm::LinearSvm;
