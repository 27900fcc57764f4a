//! Decisions as people and programs read them: the explanation table of
//! `routecast route` ([`DecisionView`]'s `Display`), its JSON
//! ([`DecisionView`]'s `Serialize`), and the JSON answer of `routecast
//! serve` to a client that asks for one ([`RedirectView`]).
//!
//! The views borrow what they show and compute nothing a decision does not
//! say: each is one decision under one load, rendered.

use crate::decide::{Decision, Facts, StaticLoad};
use crate::ids::SiteId;
use crate::platform::Platform;

mod json;
mod table;

/// One decision with what it was made from: the platform, the request's
/// facts and the load it was made under. `Display` is the explanation
/// table (`routecast route`), `Serialize` its JSON (`routecast route
/// --json`): the client, group, policy, chosen site and URL, fallbacks,
/// each site's load, and every step's verdict and score on every site.
#[derive(Debug, Clone, Copy)]
pub struct DecisionView<'a> {
    platform: &'a Platform,
    facts: &'a Facts<'a>,
    load: &'a StaticLoad,
    decision: &'a Decision,
}

impl<'a> DecisionView<'a> {
    /// The view of `decision`, made for `facts` under `load` on `platform`.
    pub fn new(
        platform: &'a Platform,
        facts: &'a Facts<'a>,
        load: &'a StaticLoad,
        decision: &'a Decision,
    ) -> Self {
        Self {
            platform,
            facts,
            load,
            decision,
        }
    }

    /// A site's name.
    fn name(&self, site: SiteId) -> &'a str {
        &self.platform.site(site).name
    }

    /// Where the chosen site serves the request's path (query included as
    /// given), if a site was chosen.
    fn url(&self) -> Option<String> {
        let site = self.decision.site?;
        Some(self.platform.site(site).redirect_url(self.facts.path, None))
    }
}

/// A decision as `routecast serve` answers a client that asks for JSON
/// (`?format=json` or `Accept: application/json`): the chosen site and its
/// URL, the client's group and the fallbacks with theirs; with
/// [`RedirectView::with_details`], also the policy, the outcome and the rule
/// that matched the group (for trusted clients). `site` and `url` are null
/// when no site can serve.
#[derive(Debug, Clone, Copy)]
pub struct RedirectView<'a> {
    platform: &'a Platform,
    decision: &'a Decision,
    path: &'a str,
    query: Option<&'a str>,
    details: bool,
}

impl<'a> RedirectView<'a> {
    /// The answer for `decision` on `platform`, whose URLs carry `path` and,
    /// after a `?`, `query`.
    pub fn new(
        platform: &'a Platform,
        decision: &'a Decision,
        path: &'a str,
        query: Option<&'a str>,
    ) -> Self {
        Self {
            platform,
            decision,
            path,
            query,
            details: false,
        }
    }

    /// With the policy, the outcome and the rule that matched the group, or
    /// without (the default).
    pub fn with_details(self, details: bool) -> Self {
        Self { details, ..self }
    }

    /// A site's name and its URL for the request.
    fn site(&self, site: SiteId) -> (&'a str, String) {
        let s = self.platform.site(site);
        (&s.name, s.redirect_url(self.path, self.query))
    }
}

#[cfg(test)]
mod tests;
