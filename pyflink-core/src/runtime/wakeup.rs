//! Waking an operator at a processing time: the harness side of
//! [`ProcessingTimeService`](crate::time::ProcessingTimeService).

use std::time::Duration;

use timely::scheduling::Activator;

use crate::time::{current_processing_time, ProcessingTimeService};

/// Turns an operator's processing-time requests into timely activations.
pub(crate) struct Wakeups {
    service: ProcessingTimeService,
    activator: Activator,
    /// The request an activation is already scheduled for.
    scheduled: i64,
}

impl Wakeups {
    pub(crate) fn new(service: ProcessingTimeService, activator: Activator) -> Self {
        Wakeups { service, activator, scheduled: i64::MAX }
    }

    /// The service whose requests this turns into activations.
    pub(crate) fn service(&self) -> &ProcessingTimeService {
        &self.service
    }

    /// The current processing time if a requested callback is due, clearing the request.
    pub(crate) fn due(&mut self) -> Option<i64> {
        if self.service.requested() == i64::MAX {
            return None;
        }
        let now = current_processing_time();
        if self.service.take_due(now) {
            self.scheduled = i64::MAX;
            Some(now)
        } else {
            None
        }
    }

    /// Schedules an activation as soon as the worker gets to it.
    pub(crate) fn activate(&self) {
        self.activator.activate();
    }

    /// Schedules an activation for the earliest pending request, unless one is scheduled.
    pub(crate) fn schedule(&mut self) {
        let requested = self.service.requested();
        if requested == i64::MAX || requested == self.scheduled {
            return;
        }
        self.scheduled = requested;
        let delay = requested.saturating_sub(current_processing_time()).max(0);
        if delay == 0 {
            self.activator.activate();
        } else {
            self.activator.activate_after(Duration::from_millis(delay as u64));
        }
    }
}
