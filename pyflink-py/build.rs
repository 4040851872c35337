//! Generates the Rust scaffolding of the API that `api.udl` (at the repository root, linked
//! as `src/api.udl`, where uniffi's generator looks for it) defines.

fn main() {
    uniffi::generate_scaffolding("src/api.udl").expect("api.udl is a valid UniFFI definition");
}
