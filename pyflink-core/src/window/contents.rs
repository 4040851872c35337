//! How a window keeps its elements: folded by a reduce or aggregate function as they arrive, as
//! a list for functions that need every element, or as a timestamped list when an evictor needs
//! to see them.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::window::evictors::{Evictor, EvictorContext, TimestampedValue};
use crate::window::functions::TryAggregateFunction;
use crate::{Data, Result};

/// The contents of one window and how elements are added to it.
pub(crate) trait WindowContents<T, W>: 'static {
    /// What a window stores; part of checkpoints.
    type Acc: Clone + Send + Sync + Serialize + DeserializeOwned + 'static;
    /// What the window function receives.
    type Result;

    /// Adds an element. An error (of a fallible reduce or aggregate function) fails the task,
    /// which restarts from its last checkpoint: the window's contents are then not used again.
    fn add(&mut self, acc: &mut Option<Self::Acc>, value: T, timestamp: Option<i64>) -> Result<()>;

    /// Adds the contents of a window merged into this one.
    fn merge(&mut self, into: &mut Option<Self::Acc>, other: Self::Acc) -> Result<()>;

    /// Calls `f` with the window's results.
    fn with_results<R>(
        &mut self,
        acc: &mut Self::Acc,
        window: &W,
        ctx: &EvictorContext,
        f: impl FnOnce(&[Self::Result]) -> Result<R>,
    ) -> Result<R>;
}

/// Folds elements with a fallible reduce function; the result is the folded element.
#[derive(Clone)]
pub(crate) struct Reducing<F>(pub(crate) F);

impl<T: Data, W, F: FnMut(T, T) -> Result<T> + 'static> WindowContents<T, W> for Reducing<F> {
    type Acc = T;
    type Result = T;

    #[inline]
    fn add(&mut self, acc: &mut Option<T>, value: T, _: Option<i64>) -> Result<()> {
        let next = match acc.take() {
            Some(previous) => (self.0)(previous, value)?,
            None => value,
        };
        *acc = Some(next);
        Ok(())
    }

    fn merge(&mut self, into: &mut Option<T>, other: T) -> Result<()> {
        <Self as WindowContents<T, W>>::add(self, into, other, None)
    }

    fn with_results<R>(
        &mut self,
        acc: &mut T,
        _: &W,
        _: &EvictorContext,
        f: impl FnOnce(&[T]) -> Result<R>,
    ) -> Result<R> {
        f(std::slice::from_ref(acc))
    }
}

/// Folds elements with a [`TryAggregateFunction`] (every `AggregateFunction` is one).
#[derive(Clone)]
pub(crate) struct Aggregating<A>(pub(crate) A);

impl<T: 'static, W, A: TryAggregateFunction<T>> WindowContents<T, W> for Aggregating<A> {
    type Acc = A::Accumulator;
    type Result = A::Output;

    #[inline]
    fn add(&mut self, acc: &mut Option<A::Accumulator>, value: T, _: Option<i64>) -> Result<()> {
        let current = match acc.take() {
            Some(current) => current,
            None => self.0.try_create_accumulator()?,
        };
        *acc = Some(self.0.try_add(value, current)?);
        Ok(())
    }

    fn merge(&mut self, into: &mut Option<A::Accumulator>, other: A::Accumulator) -> Result<()> {
        let merged = match into.take() {
            Some(current) => self.0.try_merge(current, other)?,
            None => other,
        };
        *into = Some(merged);
        Ok(())
    }

    fn with_results<R>(
        &mut self,
        acc: &mut A::Accumulator,
        _: &W,
        _: &EvictorContext,
        f: impl FnOnce(&[A::Output]) -> Result<R>,
    ) -> Result<R> {
        let result = self.0.try_get_result(acc)?;
        f(std::slice::from_ref(&result))
    }
}

/// Keeps every element, for window functions that see them all.
pub(crate) struct Listing<T>(pub(crate) PhantomData<fn() -> T>);

impl<T> Clone for Listing<T> {
    fn clone(&self) -> Self {
        Listing(PhantomData)
    }
}

impl<T: Data, W> WindowContents<T, W> for Listing<T> {
    type Acc = Vec<T>;
    type Result = T;

    #[inline]
    fn add(&mut self, acc: &mut Option<Vec<T>>, value: T, _: Option<i64>) -> Result<()> {
        acc.get_or_insert_with(Vec::new).push(value);
        Ok(())
    }

    fn merge(&mut self, into: &mut Option<Vec<T>>, other: Vec<T>) -> Result<()> {
        into.get_or_insert_with(Vec::new).extend(other);
        Ok(())
    }

    fn with_results<R>(
        &mut self,
        acc: &mut Vec<T>,
        _: &W,
        _: &EvictorContext,
        f: impl FnOnce(&[T]) -> Result<R>,
    ) -> Result<R> {
        f(acc)
    }
}

/// Keeps every element with its timestamp so an evictor can remove some before and after the
/// inner contents' function runs over the rest.
pub(crate) struct Evicting<T, W, C> {
    pub(crate) inner: C,
    pub(crate) evictor: Arc<dyn Evictor<T, W>>,
}

impl<T: Data, W: 'static, C: WindowContents<T, W>> WindowContents<T, W> for Evicting<T, W, C> {
    type Acc = Vec<TimestampedValue<T>>;
    type Result = C::Result;

    fn add(&mut self, acc: &mut Option<Self::Acc>, value: T, timestamp: Option<i64>) -> Result<()> {
        acc.get_or_insert_with(Vec::new).push(TimestampedValue { value, timestamp });
        Ok(())
    }

    fn merge(&mut self, into: &mut Option<Self::Acc>, other: Self::Acc) -> Result<()> {
        into.get_or_insert_with(Vec::new).extend(other);
        Ok(())
    }

    fn with_results<R>(
        &mut self,
        acc: &mut Self::Acc,
        window: &W,
        ctx: &EvictorContext,
        f: impl FnOnce(&[C::Result]) -> Result<R>,
    ) -> Result<R> {
        self.evictor.evict_before(acc, window, ctx);
        let mut folded = None;
        for element in acc.iter() {
            self.inner.add(&mut folded, element.value.clone(), element.timestamp)?;
        }
        let result = match folded.as_mut() {
            Some(folded) => self.inner.with_results(folded, window, ctx, f),
            None => f(&[]),
        };
        self.evictor.evict_after(acc, window, ctx);
        result
    }
}
