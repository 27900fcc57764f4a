//! The place of a mistake inside a policy step's inline table.
//!
//! serde buffers a tagged enum ([`StepConfig`]) before reading its fields,
//! so toml's error about a field of a step carries the span of the whole
//! `steps = [ … ]` array. Each step is read again here on its own, from
//! toml's spanned tree, to point at the step, and at the key the error
//! names where it names one (`unknown field `headrom``).

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::StepConfig;

/// The span and message of the first policy step of `text` that does not
/// read on its own, or `None` when every step reads.
pub(super) fn step_error(text: &str) -> Option<(Range<usize>, String)> {
    let doc = DeTable::parse(text).ok()?;
    let DeValue::Array(policies) = doc.get_ref().get("policies")?.get_ref() else {
        return None;
    };
    policies
        .iter()
        .filter_map(|policy| match policy.get_ref() {
            DeValue::Table(p) => p.get("steps"),
            _ => None,
        })
        .filter_map(|steps| match steps.get_ref() {
            DeValue::Array(steps) => Some(steps.iter()),
            _ => None,
        })
        .flatten()
        .find_map(|step| {
            let error = StepConfig::deserialize(ValueDeserializer::from(step.clone())).err()?;
            let message = error.message().trim().replace('\n', " ");
            let span = key_named(step, &message).unwrap_or_else(|| step.span());
            Some((span, message))
        })
}

/// The span of the key an error message names: the unknown field itself,
/// or the `step` value for an unknown variant.
fn key_named(step: &Spanned<DeValue<'_>>, message: &str) -> Option<Range<usize>> {
    let DeValue::Table(fields) = step.get_ref() else {
        return None;
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next()?;
        return fields
            .keys()
            .find(|k| k.get_ref() == name)
            .map(|k| k.span());
    }
    if message.starts_with("unknown variant") {
        return fields.get("step").map(|v| v.span());
    }
    None
}
