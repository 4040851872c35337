//! Generates the Rust scaffolding of the API that `api.udl` (at the repository root, linked
//! as `src/api.udl`, where uniffi's generator looks for it) defines.

fn main() {
    // uniffi watches `src/api.udl`, a link whose own time does not change when the file it
    // points to does: watch the file itself too, or an edited API keeps old scaffolding.
    println!("cargo:rerun-if-changed=../api.udl");
    uniffi::generate_scaffolding("src/api.udl").expect("api.udl is a valid UniFFI definition");
}
