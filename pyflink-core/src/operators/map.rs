//! `map`: one output record per input record.

use crate::runtime::operator::OneInputOperator;
use crate::runtime::output::Output;
use crate::{Data, Result};

/// Applies a function to every record.
pub(crate) struct MapOperator<F>(pub(crate) F);

impl<IN: Data, OUT: Data, F: FnMut(IN) -> OUT + 'static> OneInputOperator<IN, OUT> for MapOperator<F> {
    #[inline]
    fn process_element(&mut self, value: IN, out: &mut Output<OUT>) -> Result<()> {
        out.collect((self.0)(value));
        Ok(())
    }
}
