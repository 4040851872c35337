//! Combining the watermarks of several upstream instances into one.

/// Tracks the latest watermark of every input channel (one per upstream instance and input edge)
/// and yields the combined watermark, the minimum over the active channels, whenever it rises.
/// Idle channels do not hold the combined watermark back; when every channel is idle it stays.
#[derive(Debug, Clone)]
pub struct WatermarkTracker {
    channels: Vec<Channel>,
    combined: i64,
    idle_channels: usize,
}

#[derive(Debug, Clone, Copy)]
struct Channel {
    watermark: i64,
    idle: bool,
}

impl WatermarkTracker {
    /// A tracker over `channels` channels, all active and at the minimum watermark.
    pub fn new(channels: usize) -> Self {
        WatermarkTracker {
            channels: vec![Channel { watermark: i64::MIN, idle: false }; channels],
            combined: i64::MIN,
            idle_channels: 0,
        }
    }

    /// The current combined watermark.
    pub fn current(&self) -> i64 {
        self.combined
    }

    /// Records a watermark of `channel`; returns the new combined watermark if it rose.
    /// A watermark lower than the channel's previous one is ignored: watermarks never go back.
    /// A watermark from an idle channel makes it active again.
    pub fn on_watermark(&mut self, channel: usize, timestamp: i64) -> Option<i64> {
        self.set_idle(channel, false);
        let slot = &mut self.channels[channel];
        if timestamp > slot.watermark {
            slot.watermark = timestamp;
        }
        self.recompute()
    }

    /// Marks `channel` idle or active; returns the new combined watermark if it rose.
    pub fn on_status(&mut self, channel: usize, idle: bool) -> Option<i64> {
        self.set_idle(channel, idle);
        self.recompute()
    }

    /// Whether every channel is idle: then the operator's own output is idle too.
    pub fn is_idle(&self) -> bool {
        self.idle_channels == self.channels.len()
    }

    fn set_idle(&mut self, channel: usize, idle: bool) {
        let slot = &mut self.channels[channel];
        if slot.idle != idle {
            slot.idle = idle;
            if idle {
                self.idle_channels += 1;
            } else {
                self.idle_channels -= 1;
            }
        }
    }

    fn recompute(&mut self) -> Option<i64> {
        let min = self.channels.iter().filter(|c| !c.idle).map(|c| c.watermark).min()?;
        if min > self.combined {
            self.combined = min;
            Some(min)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn min_over_channels() {
        let mut t = WatermarkTracker::new(2);
        assert_eq!(t.on_watermark(0, 10), None);
        assert_eq!(t.on_watermark(1, 5), Some(5));
        assert_eq!(t.on_watermark(1, 20), Some(10));
        assert_eq!(t.on_watermark(0, 3), None, "a lower watermark is ignored");
        assert_eq!(t.current(), 10);
    }

    #[test]
    fn idle_channels_are_excluded_and_rejoin() {
        let mut t = WatermarkTracker::new(2);
        t.on_watermark(0, 100);
        assert_eq!(t.on_status(1, true), Some(100));
        assert!(!t.is_idle());
        assert_eq!(t.on_status(0, true), None);
        assert!(t.is_idle(), "all channels idle");
        assert_eq!(t.on_status(0, false), None);
        assert!(!t.is_idle());
        assert_eq!(t.on_watermark(1, 50), None, "rejoining below the combined watermark holds it");
        assert_eq!(t.on_watermark(1, 150), None);
        assert_eq!(t.on_watermark(0, 200), Some(150));
    }

    proptest! {
        #[test]
        fn combined_never_decreases_and_is_min_of_maxima(
            events in proptest::collection::vec((0usize..3, -100i64..100), 0..60)
        ) {
            let mut t = WatermarkTracker::new(3);
            let mut maxima = [i64::MIN; 3];
            let mut last = i64::MIN;
            for (ch, ts) in events {
                maxima[ch] = maxima[ch].max(ts);
                t.on_watermark(ch, ts);
                prop_assert!(t.current() >= last);
                last = t.current();
                prop_assert_eq!(t.current(), *maxima.iter().min().unwrap());
            }
        }
    }
}
