//! The running checkers and pollers, by site name. A reload updates them
//! ([`Probes::update`]): a site whose health check (or load source) is
//! unchanged keeps its task, on its schedule, with its streak (or its byte
//! counter's last reading); a changed one is restarted, counting on from
//! the site's streak (a down site needs `rise` passes to come back, an up
//! one `fall` failures to leave — with the new settings); a removed one is
//! stopped (a site whose check is gone is up; one whose load source is gone
//! has no polled figure); a new one starts.

use std::collections::HashMap;

use routecast_engine::{HealthCheck, LoadSource, Platform, SiteId};
use tokio::task::AbortHandle;

use crate::health::{spawn_check, Health};
use crate::load::spawn_poll;

/// One running task and the settings it runs with.
#[derive(Debug)]
struct Running<T> {
    settings: T,
    task: AbortHandle,
}

/// The checkers and pollers of the sites, by name.
#[derive(Debug, Default)]
pub(crate) struct Probes {
    checks: HashMap<String, Running<HealthCheck>>,
    polls: HashMap<String, Running<LoadSource>>,
}

impl Probes {
    /// Runs the checks and polls `platform` configures, on `health`
    /// (carried from the health the current tasks run on).
    pub(crate) fn update(&mut self, platform: &Platform, health: &Health) {
        let mut checks = HashMap::new();
        let mut polls = HashMap::new();
        for (i, site) in platform.sites().iter().enumerate() {
            let Some(status) = health.status(SiteId(i as u16)) else {
                continue;
            };
            let name = &site.name;
            if let Some(check) = &site.health {
                let start = || spawn_check(check.clone(), name.clone(), status.clone());
                let running = keep_or_start(self.checks.remove(name), check, start);
                checks.insert(name.clone(), running);
            } else if let Some(old) = self.checks.remove(name) {
                old.task.abort();
                status.unchecked();
                tracing::info!(site = %name, "health check removed: site in rotation");
            }
            if let Some(source) = &site.load_source {
                let start =
                    || spawn_poll(source.clone(), name.clone(), status.clone(), health.clock());
                let running = keep_or_start(self.polls.remove(name), source, start);
                polls.insert(name.clone(), running);
            } else if let Some(old) = self.polls.remove(name) {
                old.task.abort();
                status.unpolled();
            }
        }
        // What is left belongs to sites no longer configured.
        self.stop();
        (self.checks, self.polls) = (checks, polls);
    }

    /// Stops every task.
    pub(crate) fn stop(&mut self) {
        for r in self.checks.values() {
            r.task.abort();
        }
        for r in self.polls.values() {
            r.task.abort();
        }
        self.checks.clear();
        self.polls.clear();
    }
}

/// `old` if it runs with `settings`; else a task `start`ed (`old` stopped).
fn keep_or_start<T: PartialEq + Clone>(
    old: Option<Running<T>>,
    settings: &T,
    start: impl FnOnce() -> AbortHandle,
) -> Running<T> {
    match old {
        Some(old) if old.settings == *settings && !old.task.is_finished() => old,
        old => {
            if let Some(old) = old {
                old.task.abort();
            }
            Running {
                settings: settings.clone(),
                task: start(),
            }
        }
    }
}
