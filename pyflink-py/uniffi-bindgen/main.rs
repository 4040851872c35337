//! The uniffi binding generator, at the version of uniffi the library is built with; maturin
//! runs it (`cargo run --bin uniffi-bindgen`) to write the Python module `pyflink_rs._native`
//! from the built library. It is a crate of its own so that building it does not build the
//! engine a second time with other features.

fn main() {
    uniffi::uniffi_bindgen_main()
}
