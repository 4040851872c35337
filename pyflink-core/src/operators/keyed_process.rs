//! `KeyedStream::process`: runs a [`KeyedProcessFunction`] with the record's key current in the
//! instance's keyed state backend.

use pyflink_state::{KeyGroupRange, KeyedStateBackend};

use crate::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, ProcessContext};
use crate::operators::keyed_reduce::KeySelector;
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::Output;
use crate::{Data, Key, Result};

/// Runs a keyed process function.
pub(crate) struct KeyedProcessOperator<IN, K: Key, F> {
    pub(crate) key: KeySelector<IN, K>,
    pub(crate) function: F,
    pub(crate) backend: Option<KeyedStateBackend<K>>,
}

impl<IN: Data, K: Key, OUT: Data, F: KeyedProcessFunction<K, IN, OUT>> OneInputOperator<IN, OUT>
    for KeyedProcessOperator<IN, K, F>
{
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        let range = KeyGroupRange::for_operator(context.max_parallelism, context.parallelism, context.subtask_index);
        let backend = self.backend.insert(KeyedStateBackend::new(range, context.max_parallelism));
        self.function.open(&mut KeyedRuntimeContext { runtime: context, backend })
    }

    #[inline]
    fn process_element(&mut self, value: IN, out: &mut Output<OUT>) -> Result<()> {
        let backend = self.backend.as_ref().expect("opened before the first record");
        backend.set_current_key((self.key)(&value));
        let function = &mut self.function;
        backend.enter(|| {
            let context = ProcessContext { out };
            function.process_element(value, &mut KeyedProcessContext { context, backend })
        })
    }

    fn close(&mut self) -> Result<()> {
        let function = &mut self.function;
        match &self.backend {
            Some(backend) => backend.enter(|| function.close()),
            None => function.close(),
        }
    }
}
