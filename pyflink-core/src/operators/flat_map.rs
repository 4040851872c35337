//! `flat_map`: zero or more output records per input record.

use crate::runtime::operator::OneInputOperator;
use crate::runtime::output::Output;
use crate::{Data, Result};

/// Emits every item of the iterable the function returns.
pub(crate) struct FlatMapOperator<F>(pub(crate) F);

impl<IN: Data, OUT: Data, I: IntoIterator<Item = OUT>, F: FnMut(IN) -> I + 'static> OneInputOperator<IN, OUT>
    for FlatMapOperator<F>
{
    #[inline]
    fn process_element(&mut self, value: IN, out: &mut Output<OUT>) -> Result<()> {
        for item in (self.0)(value) {
            out.collect(item);
        }
        Ok(())
    }
}
