//! The instances of one loaded connector: made from its compiled module when a call needs one,
//! at most `max` alive at once, idle ones kept for the next call.
//!
//! The bound is what lets the engine place instances in wasmtime's pooling allocator
//! ([`crate::host::engine_config`]): its slots are reserved when the connector loads, so a new
//! instance reuses a slot instead of mapping fresh memory. A call that finds every instance busy
//! waits for one until its own deadline.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use extism::{CompiledPlugin, Plugin};

/// Idle instances kept for reuse; the rest are dropped when their call ends.
const MAX_IDLE: usize = 32;

pub struct Instances {
    compiled: CompiledPlugin,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Plugin>,
    /// Instances alive: idle or leased.
    live: usize,
}

/// Why no instance could be had.
#[derive(Debug)]
pub enum LeaseError {
    /// Every one of the `max` instances stayed busy until the deadline.
    Busy { max: usize },
    /// Making a new instance failed (extism's message).
    Make(extism::Error),
}

/// One instance, for one call at a time. [`Lease::keep`] gives it back for reuse; dropped
/// without it (a call that trapped may have left broken state), the instance is discarded.
pub struct Lease<'a> {
    instances: &'a Instances,
    plugin: Option<Plugin>,
}

impl Lease<'_> {
    pub fn plugin(&mut self) -> &mut Plugin {
        self.plugin.as_mut().expect("a lease holds its instance until it ends")
    }

    /// Ends the lease, keeping the instance for the next call.
    pub fn keep(mut self) {
        let plugin = self.plugin.take().expect("a lease holds its instance until it ends");
        let mut state = self.instances.lock();
        if state.idle.len() < MAX_IDLE {
            state.idle.push(plugin);
            drop(state);
            self.instances.freed.notify_one();
        } else {
            drop(state);
            // Dropped before it stops counting, so that its slots are free for the next one.
            drop(plugin);
            self.instances.forget();
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(plugin) = self.plugin.take() {
            // As in `keep`: its slots are free before another instance may take its place.
            drop(plugin);
            self.instances.forget();
        }
    }
}

impl Instances {
    /// `max` is at least 1.
    pub fn new(compiled: CompiledPlugin, max: usize) -> Instances {
        Instances {
            compiled,
            max: max.max(1),
            state: Mutex::new(State { idle: Vec::new(), live: 0 }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle instance, or a new one while fewer than `max` are alive, or the first one given
    /// back before `deadline`.
    pub fn lease(&self, deadline: Instant) -> Result<Lease<'_>, LeaseError> {
        let mut state = self.lock();
        loop {
            if let Some(plugin) = state.idle.pop() {
                return Ok(Lease { instances: self, plugin: Some(plugin) });
            }
            if state.live < self.max {
                state.live += 1;
                drop(state);
                // Counted before it exists, so that two callers never both make the last one.
                return match Plugin::new_from_compiled(&self.compiled) {
                    Ok(plugin) => Ok(Lease { instances: self, plugin: Some(plugin) }),
                    Err(e) => {
                        self.forget();
                        Err(LeaseError::Make(e))
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LeaseError::Busy { max: self.max });
            }
            state = self.freed.wait_timeout(state, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// One instance fewer is alive: a waiting caller may make a new one.
    fn forget(&self) {
        self.lock().live -= 1;
        self.freed.notify_one();
    }

    pub fn idle(&self) -> usize {
        self.lock().idle.len()
    }

    /// Instances alive, idle or in a call.
    pub fn live(&self) -> usize {
        self.lock().live
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use extism::{Manifest, PluginBuilder, Wasm};

    use super::*;

    /// `max` instances' worth of a one-export module, in the host's engine configuration (its
    /// pooling allocator sized for `max`).
    fn instances(max: u32) -> Instances {
        let wat = r#"(module (memory (export "memory") 1) (func (export "f") (result i32) i32.const 0))"#;
        let builder = PluginBuilder::new(Manifest::new([Wasm::data(wat.as_bytes().to_vec())]))
            .with_wasmtime_config(crate::host::engine_config(max))
            .with_wasi(false)
            .with_cache_disabled();
        Instances::new(CompiledPlugin::new(builder).unwrap(), max as usize)
    }

    /// Leases an instance and calls it, so that extism instantiates the module (it does so at
    /// the first call) and the instance holds its pool slots.
    fn used(instances: &Instances, deadline: Instant) -> Result<Lease<'_>, LeaseError> {
        let mut lease = instances.lease(deadline)?;
        lease.plugin().call::<&str, &str>("f", "").unwrap();
        Ok(lease)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn no_more_than_max_instances_live_and_the_next_caller_waits_until_its_deadline() {
        let pool = instances(2);
        let (a, b) = (used(&pool, soon()).unwrap(), used(&pool, soon()).unwrap());
        assert_eq!(pool.live(), 2);
        let started = Instant::now();
        match pool.lease(started + Duration::from_millis(150)) {
            Err(LeaseError::Busy { max: 2 }) => {}
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        assert!(started.elapsed() >= Duration::from_millis(150), "gave up after {:?}", started.elapsed());
        // Given back, an instance serves the next call without a new one being made.
        a.keep();
        assert_eq!((pool.live(), pool.idle()), (2, 1));
        let c = used(&pool, started).unwrap();
        assert_eq!((pool.live(), pool.idle()), (2, 0));
        // Discarded (a trapped call), it frees its place for a new one.
        drop(b);
        assert_eq!(pool.live(), 1);
        let d = used(&pool, started).unwrap();
        assert_eq!(pool.live(), 2);
        drop((c, d));
        assert_eq!((pool.live(), pool.idle()), (0, 0));
    }

    #[test]
    fn a_waiting_caller_gets_the_first_instance_given_back() {
        let pool = instances(1);
        let held = used(&pool, soon()).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let started = Instant::now();
                let lease = used(&pool, started + Duration::from_secs(20)).map(Lease::keep);
                (lease.is_ok(), started.elapsed())
            });
            std::thread::sleep(Duration::from_millis(100));
            held.keep();
            let (ok, waited) = waiter.join().unwrap();
            assert!(ok, "the waiting caller got no instance");
            assert!(waited < Duration::from_secs(10), "it waited {waited:?}");
        });
        assert_eq!((pool.live(), pool.idle()), (1, 1));
    }

    #[test]
    fn instances_beyond_the_idle_ones_kept_are_dropped_when_given_back() {
        let max = MAX_IDLE as u32 + 2;
        let pool = instances(max);
        let leases: Vec<_> = (0..max).map(|_| used(&pool, soon()).unwrap()).collect();
        leases.into_iter().for_each(Lease::keep);
        assert_eq!((pool.live(), pool.idle()), (MAX_IDLE, MAX_IDLE));
        // The dropped ones' slots are free again: `max` instances can be alive once more.
        let again: Vec<_> = (0..max).map(|_| used(&pool, soon()).unwrap()).collect();
        assert_eq!(pool.live(), max as usize);
        drop(again);
    }

    #[test]
    fn the_pool_holds_max_instances_of_a_real_connector_layout() {
        // Each extism plugin is two core instances (the kernel and the module), each with a
        // memory: the engine's slots must hold `max` of them at once, all instantiated.
        let pool = instances(3);
        let leases: Vec<_> = (0..3).map(|_| used(&pool, soon()).unwrap()).collect();
        assert_eq!(pool.live(), 3);
        drop(leases);
        let again: Vec<_> = (0..3).map(|_| used(&pool, soon()).unwrap()).collect();
        assert_eq!(again.len(), 3);
    }
}
