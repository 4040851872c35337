//! Windows from Python: the engine's window operator with Python's assigners and triggers
//! (built-in or Python subclasses), contents and evaluators, or PyFlink's count windows.
//!
//! - [`assign`]: the assigners and triggers a program picks, as one type each;
//! - [`custom`]: assigners and triggers written in Python;
//! - [`function`]: the Python window functions that evaluate fired windows;
//! - [`compile`]: the window operator of a plan's window step;
//! - [`count`]: count windows, numbered as PyFlink numbers them;
//! - [`bundled`]: process mode, where a worker folds and evaluates each fired window.

pub mod assign;
pub mod bundled;
pub mod compile;
pub mod count;
pub mod custom;
pub mod function;
