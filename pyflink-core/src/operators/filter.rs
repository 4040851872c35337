//! `filter`: keeps the records a predicate accepts.

use crate::runtime::operator::OneInputOperator;
use crate::runtime::output::Output;
use crate::{Data, Result};

/// Keeps records for which the predicate is true.
pub(crate) struct FilterOperator<F>(pub(crate) F);

impl<T: Data, F: FnMut(&T) -> bool + 'static> OneInputOperator<T, T> for FilterOperator<F> {
    #[inline]
    fn process_element(&mut self, value: T, out: &mut Output<T>) -> Result<()> {
        if (self.0)(&value) {
            out.collect(value);
        }
        Ok(())
    }
}
