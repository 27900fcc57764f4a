//! Load views: the load, health and operator state of the sites as the
//! caller sees them at the moment of a decision (measured by the server,
//! simulated by the simulator, given by `routecast route --load`).

use crate::ids::SiteId;
use crate::platform::{Mbps, Site, SiteState};

/// The load and health of sites as the caller sees them (measured by the
/// server, simulated by the simulator).
pub trait LoadView {
    /// Current outbound bit rate of `site`.
    fn load(&self, site: SiteId) -> Mbps;

    /// Whether `site` passes its health checks. Default: up.
    fn is_up(&self, _site: SiteId) -> bool {
        true
    }

    /// The operator state in force for `site`, given the configured one (the
    /// server's admin API overrides it). Default: as configured.
    fn state(&self, _site: SiteId, configured: SiteState) -> SiteState {
        configured
    }

    /// The whole view as integers, when the implementation keeps it so (the
    /// simulator): every site up, site `i` in `states[i]` and carrying
    /// [`Mbps::from_bps`]`(bps[i])`, exactly what the other methods answer.
    /// The route memo then compares loads with integer thresholds instead
    /// of converting every load for every request. Default: `None`.
    fn integer_view(&self) -> Option<IntegerView<'_>> {
        None
    }

    /// Load, health and state of every site at once: `out[i]` is site `i`
    /// (`out` has one entry per site). The engine calls this once per
    /// decision; the default asks the methods above site by site.
    fn snapshot(&self, sites: &[Site], out: &mut [SiteView]) {
        for (i, (s, v)) in sites.iter().zip(out).enumerate() {
            let id = SiteId(i as u16);
            *v = SiteView {
                load: self.load(id),
                up: self.is_up(id),
                state: self.state(id, s.state),
            };
        }
    }
}

/// A [`LoadView`] kept as integers: see [`LoadView::integer_view`].
#[derive(Debug, Clone, Copy)]
pub struct IntegerView<'a> {
    /// Each site's load, bit/s.
    pub bps: &'a [i64],
    /// Each site's state in force.
    pub states: &'a [SiteState],
}

/// One site as a [`LoadView`] sees it at the moment of a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteView {
    /// Current outbound bit rate.
    pub load: Mbps,
    /// Passing health checks.
    pub up: bool,
    /// Operator state in force.
    pub state: SiteState,
}

/// No load anywhere, every site up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Idle;

impl LoadView for Idle {
    fn load(&self, _site: SiteId) -> Mbps {
        Mbps(0.0)
    }
}

/// A fixed load per site and a set of down sites.
#[derive(Debug, Clone, Default)]
pub struct StaticLoad {
    /// Load by `SiteId` index (missing entries are 0).
    pub load: Vec<Mbps>,
    /// Sites reported down.
    pub down: Vec<SiteId>,
}

impl LoadView for StaticLoad {
    fn load(&self, site: SiteId) -> Mbps {
        self.load.get(site.index()).copied().unwrap_or_default()
    }
    fn is_up(&self, site: SiteId) -> bool {
        !self.down.contains(&site)
    }
}
