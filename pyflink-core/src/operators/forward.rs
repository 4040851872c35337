//! The identity operator behind `union`: forwards the records of all its inputs, and the
//! watermark combined over all of them.

use crate::runtime::operator::OneInputOperator;
use crate::runtime::output::Output;
use crate::{Data, Result};

/// Forwards every record unchanged.
pub(crate) struct ForwardOperator;

impl<T: Data> OneInputOperator<T, T> for ForwardOperator {
    #[inline]
    fn process_element(&mut self, value: T, out: &mut Output<T>) -> Result<()> {
        out.collect(value);
        Ok(())
    }
}
