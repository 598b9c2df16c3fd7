//! The referral tables' SQL, written once and compiled for each dialect like `shared.rs`, of
//! which this file is a child module (so it shares its write transaction, which holds the
//! audit chain's head).
//!
//! Two kinds of statement run outside that write transaction on purpose: claiming due checks
//! and outbox messages. A claim is one statement (an `UPDATE ... WHERE id IN (SELECT ...)`,
//! with `FOR UPDATE SKIP LOCKED` in the inner select on PostgreSQL so concurrent workers take
//! disjoint rows without waiting; SQLite runs one writer at a time, so the statement is atomic
//! as it is). Claims write no audit entry: they are scheduling, not changes to the record, and
//! serialising them behind the audit head would make every worker wait for every other.
//! Recording a result does go through the write transaction, guarded by the lease: a worker
//! whose lease was taken over writes nothing.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{Column, QueryBuilder, Row};
use takedown_model::{Actor, ContentId, OrgId, Tier, Timestamp};

use super::{Conn, DbRow, StoreImpl, Write};
use crate::audit::AuditDraft;
use crate::error::conflict_on_unique;
use crate::referrals::{
    grounds_from_json, grounds_json, matches_from_json, matches_json, parse_stored, rank_score,
    Case, CaseDecision, CaseId, CaseQuery, CaseStatus, CheckCounts, CheckId, CheckResult,
    CheckState, ClaimedCheck, DecisionKind, DeliveryReport, ItemState, NewDecision, NewObservation,
    NewOutboxMessage, NewProvider, NewReferral, Observation, ObservationId, ObservationQuery,
    OutboxId, OutboxMessage, OutboxState, Provider, ProviderId, ProviderRule, ProviderRuleId,
    ProviderUpdate, RecordedCheck, Referral, ReferralId, ReferralItem, ReferralItemId,
    ReferralQuery, ReferralStatus, ReferralStore, UrlCheck,
};
use crate::{Backend, StoreError, StoreResult};

macro_rules! provider_columns {
    () => {
        "p.id, p.name, p.contact_email, p.endpoint_url, p.delivery, p.notice_format, \
         p.legal_representative, p.member_state, p.contact_point, p.created_at, p.updated_at"
    };
}
macro_rules! observation_columns {
    () => {
        "o.id, o.org_id, o.case_id, o.url, o.host, o.final_url, o.media_url, o.found_in, \
         o.fetched_at, o.outcome, o.http_status, o.content_type, o.size, o.md5, o.sha256, o.pdq, \
         o.pdq_quality, o.matches, o.provider_id, o.source, o.submitted_by, o.evidence, \
         o.reupload_of_item, o.created_at"
    };
}
macro_rules! case_columns {
    () => {
        "c.id, c.org_id, c.content_key, c.content_id, c.status, c.entity, c.tier, c.severity, \
         c.confidence, c.rank_score, c.grounds, c.reason, c.decided_by, c.decided_at, \
         c.observation_count, c.created_at, c.updated_at"
    };
}
macro_rules! referral_columns {
    () => {
        "r.id, r.org_id, r.provider_id, r.reference, r.status, r.notice_format, r.note, \
         r.created_by, r.created_at, r.queued_at, r.sent_at, r.acknowledged_at, r.closed_at, \
         r.updated_at"
    };
}
macro_rules! item_columns {
    () => {
        "i.id, i.referral_id, i.org_id, i.provider_id, i.url, i.media_url, i.observation_id, \
         i.case_id, i.content_key, i.content_id, i.bank_name, i.entity, i.tier, i.grounds, \
         i.reason, i.md5, i.sha256, i.pdq, i.content_type, i.captured_at, i.reupload_of_item, \
         i.state, i.open, i.last_live_at, i.first_gone_at, i.gone_outcome, i.checks_done"
    };
}
macro_rules! check_columns {
    () => {
        "k.id, k.item_id, k.referral_id, k.sequence, k.due_at, k.state, k.lease_owner, \
         k.lease_expires_at, k.claims, k.checked_at, k.method, k.http_status, k.final_url, \
         k.content_type, k.md5, k.sha256, k.pdq_distance, k.outcome, k.evidence"
    };
}
macro_rules! outbox_columns {
    () => {
        "m.id, m.referral_id, m.channel, m.idempotency_key, m.sender, m.recipient, m.subject, \
         m.content_type, m.body, m.state, m.attempts, m.next_attempt_at, m.lease_owner, \
         m.lease_expires_at, m.last_error, m.response, m.sent_at, m.created_at"
    };
}

/// PostgreSQL lets concurrent claimers skip each other's rows; SQLite has one writer at a time.
fn skip_locked() -> &'static str {
    match super::super::KIND {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// A time as the dialect binds it, truncated to the store's precision.
macro_rules! time_param {
    ($at:expr) => {
        super::super::time_param(crate::time::truncate($at))
    };
}

// ---------------------------------------------------------------------------------------------
// Reading rows by column name

fn ordinal(row: &DbRow, name: &str) -> StoreResult<usize> {
    Ok(row.try_column(name)?.ordinal())
}

fn time(row: &DbRow, name: &str) -> StoreResult<Timestamp> {
    super::super::read_time(row, ordinal(row, name)?)
}

fn optional_time(row: &DbRow, name: &str) -> StoreResult<Option<Timestamp>> {
    super::super::read_optional_time(row, ordinal(row, name)?)
}

fn text(row: &DbRow, name: &str) -> StoreResult<String> {
    Ok(row.try_get(name)?)
}

fn optional_text(row: &DbRow, name: &str) -> StoreResult<Option<String>> {
    Ok(row.try_get(name)?)
}

fn number(row: &DbRow, name: &str) -> StoreResult<i64> {
    Ok(row.try_get(name)?)
}

fn optional_number(row: &DbRow, name: &str) -> StoreResult<Option<i64>> {
    Ok(row.try_get(name)?)
}

fn small<T: TryFrom<i64>>(value: i64, name: &str) -> StoreResult<T> {
    T::try_from(value).map_err(|_| StoreError::corrupt(format!("{name} {value}")))
}

fn optional_small<T: TryFrom<i64>>(value: Option<i64>, name: &str) -> StoreResult<Option<T>> {
    value.map(|value| small(value, name)).transpose()
}

fn tier(value: Option<i64>) -> StoreResult<Option<Tier>> {
    value
        .map(Tier::from_number)
        .transpose()
        .map_err(StoreError::corrupt)
}

fn provider_from_row(row: &DbRow) -> StoreResult<Provider> {
    Ok(Provider {
        id: ProviderId(number(row, "id")?),
        name: text(row, "name")?,
        contact_email: text(row, "contact_email")?,
        endpoint_url: text(row, "endpoint_url")?,
        delivery: parse_stored(&text(row, "delivery")?)?,
        notice_format: parse_stored(&text(row, "notice_format")?)?,
        legal_representative: text(row, "legal_representative")?,
        member_state: text(row, "member_state")?,
        contact_point: text(row, "contact_point")?,
        rules: Vec::new(),
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn rule_from_row(row: &DbRow) -> StoreResult<ProviderRule> {
    Ok(ProviderRule {
        id: ProviderRuleId(number(row, "id")?),
        provider: ProviderId(number(row, "provider_id")?),
        host_suffix: text(row, "host_suffix")?,
        created_at: time(row, "created_at")?,
    })
}

fn observation_from_row(row: &DbRow) -> StoreResult<Observation> {
    Ok(Observation {
        id: ObservationId(number(row, "id")?),
        org: OrgId(number(row, "org_id")?),
        case: optional_number(row, "case_id")?.map(CaseId),
        url: text(row, "url")?,
        host: text(row, "host")?,
        final_url: optional_text(row, "final_url")?,
        media_url: optional_text(row, "media_url")?,
        found_in: optional_text(row, "found_in")?,
        fetched_at: time(row, "fetched_at")?,
        outcome: parse_stored(&text(row, "outcome")?)?,
        http_status: optional_small(optional_number(row, "http_status")?, "http status")?,
        content_type: optional_text(row, "content_type")?,
        size: optional_small(optional_number(row, "size")?, "size")?,
        md5: optional_text(row, "md5")?,
        sha256: optional_text(row, "sha256")?,
        pdq: optional_text(row, "pdq")?,
        pdq_quality: optional_small(optional_number(row, "pdq_quality")?, "pdq quality")?,
        matches: matches_from_json(&text(row, "matches")?)?,
        provider: optional_number(row, "provider_id")?.map(ProviderId),
        source: text(row, "source")?,
        submitted_by: text(row, "submitted_by")?,
        evidence: text(row, "evidence")?,
        reupload_of: optional_number(row, "reupload_of_item")?.map(ReferralItemId),
        created_at: time(row, "created_at")?,
    })
}

fn case_from_row(row: &DbRow) -> StoreResult<Case> {
    Ok(Case {
        id: CaseId(number(row, "id")?),
        org: OrgId(number(row, "org_id")?),
        content_key: text(row, "content_key")?,
        content_id: optional_number(row, "content_id")?.map(ContentId),
        status: parse_stored(&text(row, "status")?)?,
        entity: optional_text(row, "entity")?,
        tier: tier(optional_number(row, "tier")?)?,
        severity: small(number(row, "severity")?, "severity")?,
        confidence: small(number(row, "confidence")?, "confidence")?,
        rank_score: number(row, "rank_score")?,
        grounds: grounds_from_json(&text(row, "grounds")?)?,
        reason: text(row, "reason")?,
        decided_by: optional_text(row, "decided_by")?,
        decided_at: optional_time(row, "decided_at")?,
        observation_count: small(number(row, "observation_count")?, "observation count")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn decision_from_row(row: &DbRow) -> StoreResult<CaseDecision> {
    Ok(CaseDecision {
        case: CaseId(number(row, "case_id")?),
        decision: parse_stored(&text(row, "decision")?)?,
        entity: optional_text(row, "entity")?,
        tier: tier(optional_number(row, "tier")?)?,
        grounds: grounds_from_json(&text(row, "grounds")?)?,
        reason: text(row, "reason")?,
        reviewer: text(row, "reviewer")?,
        decided_at: time(row, "decided_at")?,
        added_content: optional_number(row, "added_content_id")?.map(ContentId),
    })
}

fn referral_from_row(row: &DbRow) -> StoreResult<Referral> {
    Ok(Referral {
        id: ReferralId(number(row, "id")?),
        org: OrgId(number(row, "org_id")?),
        provider: ProviderId(number(row, "provider_id")?),
        reference: text(row, "reference")?,
        status: parse_stored(&text(row, "status")?)?,
        notice_format: parse_stored(&text(row, "notice_format")?)?,
        note: text(row, "note")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        queued_at: optional_time(row, "queued_at")?,
        sent_at: optional_time(row, "sent_at")?,
        acknowledged_at: optional_time(row, "acknowledged_at")?,
        closed_at: optional_time(row, "closed_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn item_from_row(row: &DbRow) -> StoreResult<ReferralItem> {
    Ok(ReferralItem {
        id: ReferralItemId(number(row, "id")?),
        referral: ReferralId(number(row, "referral_id")?),
        org: OrgId(number(row, "org_id")?),
        provider: ProviderId(number(row, "provider_id")?),
        url: text(row, "url")?,
        media_url: optional_text(row, "media_url")?,
        observation: ObservationId(number(row, "observation_id")?),
        case: optional_number(row, "case_id")?.map(CaseId),
        content_key: text(row, "content_key")?,
        content_id: optional_number(row, "content_id")?.map(ContentId),
        bank_name: optional_text(row, "bank_name")?,
        entity: optional_text(row, "entity")?,
        tier: tier(optional_number(row, "tier")?)?,
        grounds: grounds_from_json(&text(row, "grounds")?)?,
        reason: text(row, "reason")?,
        md5: optional_text(row, "md5")?,
        sha256: optional_text(row, "sha256")?,
        pdq: optional_text(row, "pdq")?,
        content_type: optional_text(row, "content_type")?,
        captured_at: time(row, "captured_at")?,
        reupload_of: optional_number(row, "reupload_of_item")?.map(ReferralItemId),
        state: parse_stored(&text(row, "state")?)?,
        open: row.try_get("open")?,
        last_live_at: optional_time(row, "last_live_at")?,
        first_gone_at: optional_time(row, "first_gone_at")?,
        gone_outcome: optional_text(row, "gone_outcome")?
            .map(|outcome| parse_stored(&outcome))
            .transpose()?,
        checks_done: small(number(row, "checks_done")?, "checks done")?,
    })
}

fn check_from_row(row: &DbRow) -> StoreResult<UrlCheck> {
    let state: CheckState = parse_stored(&text(row, "state")?)?;
    let result = match optional_text(row, "outcome")? {
        Some(outcome) => Some(CheckResult {
            checked_at: optional_time(row, "checked_at")?
                .ok_or_else(|| StoreError::corrupt("finished check without a time"))?,
            method: optional_text(row, "method")?.unwrap_or_default(),
            http_status: optional_small(optional_number(row, "http_status")?, "http status")?,
            final_url: optional_text(row, "final_url")?,
            content_type: optional_text(row, "content_type")?,
            md5: optional_text(row, "md5")?,
            sha256: optional_text(row, "sha256")?,
            pdq_distance: optional_small(optional_number(row, "pdq_distance")?, "distance")?,
            outcome: parse_stored(&outcome)?,
            evidence: optional_text(row, "evidence")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(UrlCheck {
        id: CheckId(number(row, "id")?),
        item: ReferralItemId(number(row, "item_id")?),
        referral: ReferralId(number(row, "referral_id")?),
        sequence: small(number(row, "sequence")?, "sequence")?,
        due_at: time(row, "due_at")?,
        state,
        lease_owner: optional_text(row, "lease_owner")?,
        lease_expires_at: optional_time(row, "lease_expires_at")?,
        claims: small(number(row, "claims")?, "claims")?,
        result,
    })
}

fn message_from_row(row: &DbRow) -> StoreResult<OutboxMessage> {
    Ok(OutboxMessage {
        id: OutboxId(number(row, "id")?),
        referral: ReferralId(number(row, "referral_id")?),
        channel: parse_stored(&text(row, "channel")?)?,
        idempotency_key: text(row, "idempotency_key")?,
        sender: text(row, "sender")?,
        recipient: text(row, "recipient")?,
        subject: text(row, "subject")?,
        content_type: text(row, "content_type")?,
        body: text(row, "body")?,
        state: parse_stored(&text(row, "state")?)?,
        attempts: small(number(row, "attempts")?, "attempts")?,
        next_attempt_at: time(row, "next_attempt_at")?,
        lease_owner: optional_text(row, "lease_owner")?,
        lease_expires_at: optional_time(row, "lease_expires_at")?,
        last_error: optional_text(row, "last_error")?,
        response: optional_text(row, "response")?,
        sent_at: optional_time(row, "sent_at")?,
        created_at: time(row, "created_at")?,
    })
}

// ---------------------------------------------------------------------------------------------
// Audit images

fn provider_json(provider: &Provider) -> String {
    serde_json::json!({
        "id": provider.id.0,
        "name": provider.name,
        "contact_email": provider.contact_email,
        "endpoint_url": provider.endpoint_url,
        "delivery": provider.delivery.as_str(),
        "notice_format": provider.notice_format.as_str(),
        "legal_representative": provider.legal_representative,
        "member_state": provider.member_state,
        "contact_point": provider.contact_point,
        "rules": provider.rules.iter().map(|rule| rule.host_suffix.clone()).collect::<Vec<_>>(),
        "updated_at": crate::json::time(provider.updated_at),
    })
    .to_string()
}

fn case_json(case: &Case) -> String {
    serde_json::json!({
        "id": case.id.0,
        "org": case.org.0,
        "content_key": case.content_key,
        "content_id": case.content_id.map(|id| id.0),
        "status": case.status.as_str(),
        "entity": case.entity,
        "tier": case.tier.map(Tier::number),
        "grounds": case.grounds.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "reason": case.reason,
        "decided_by": case.decided_by,
        "decided_at": case.decided_at.map(crate::json::time),
    })
    .to_string()
}

fn referral_json(referral: &Referral) -> String {
    serde_json::json!({
        "id": referral.id.0,
        "org": referral.org.0,
        "provider": referral.provider.0,
        "reference": referral.reference,
        "status": referral.status.as_str(),
        "notice_format": referral.notice_format.as_str(),
        "sent_at": referral.sent_at.map(crate::json::time),
        "closed_at": referral.closed_at.map(crate::json::time),
    })
    .to_string()
}

fn audit(
    actor: &Actor,
    org: Option<OrgId>,
    action: &'static str,
    object_type: &'static str,
    object_id: i64,
    before: Option<String>,
    after: Option<String>,
) -> AuditDraft {
    AuditDraft {
        actor: actor.to_string(),
        org,
        action,
        object_type,
        object_id: object_id.to_string(),
        before,
        after,
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

async fn find_provider(conn: &mut Conn, id: ProviderId) -> StoreResult<Provider> {
    let row = sqlx::query(concat!(
        "SELECT ",
        provider_columns!(),
        " FROM providers p WHERE p.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("provider {id}")))?;
    let mut provider = provider_from_row(&row)?;
    let rules = sqlx::query(
        "SELECT id, provider_id, host_suffix, created_at FROM provider_rules \
         WHERE provider_id = $1 ORDER BY host_suffix",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    provider.rules = rules
        .iter()
        .map(rule_from_row)
        .collect::<StoreResult<_>>()?;
    Ok(provider)
}

async fn find_observation(conn: &mut Conn, id: ObservationId) -> StoreResult<Observation> {
    let row = sqlx::query(concat!(
        "SELECT ",
        observation_columns!(),
        " FROM observations o WHERE o.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("observation {id}")))?;
    observation_from_row(&row)
}

async fn find_case(conn: &mut Conn, id: CaseId) -> StoreResult<Case> {
    let row = sqlx::query(concat!(
        "SELECT ",
        case_columns!(),
        " FROM cases c WHERE c.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("case {id}")))?;
    case_from_row(&row)
}

async fn find_referral(conn: &mut Conn, id: ReferralId) -> StoreResult<Referral> {
    let row = sqlx::query(concat!(
        "SELECT ",
        referral_columns!(),
        " FROM referrals r WHERE r.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("referral {id}")))?;
    referral_from_row(&row)
}

async fn find_items(conn: &mut Conn, referral: ReferralId) -> StoreResult<Vec<ReferralItem>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        item_columns!(),
        " FROM referral_items i WHERE i.referral_id = $1 ORDER BY i.id"
    ))
    .bind(referral.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(item_from_row).collect()
}

async fn find_message(conn: &mut Conn, id: OutboxId) -> StoreResult<OutboxMessage> {
    let row = sqlx::query(concat!(
        "SELECT ",
        outbox_columns!(),
        " FROM outbox m WHERE m.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("outbox message {id}")))?;
    message_from_row(&row)
}

async fn find_check(conn: &mut Conn, id: CheckId) -> StoreResult<UrlCheck> {
    let row = sqlx::query(concat!(
        "SELECT ",
        check_columns!(),
        " FROM url_checks k WHERE k.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("check {id}")))?;
    check_from_row(&row)
}

/// The open item for a URL at a provider, with its referral's reference.
async fn open_item(
    conn: &mut Conn,
    provider: ProviderId,
    url: &str,
) -> StoreResult<Option<(ReferralItem, String)>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        item_columns!(),
        " FROM referral_items i WHERE i.provider_id = $1 AND i.url = $2 AND i.open"
    ))
    .bind(provider.0)
    .bind(url)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let item = item_from_row(&row)?;
    let reference: String = sqlx::query_scalar("SELECT reference FROM referrals WHERE id = $1")
        .bind(item.referral.0)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Some((item, reference)))
}

// ---------------------------------------------------------------------------------------------
// Checks on input

fn provider_text(field: &str, value: &str, max: usize) -> StoreResult<String> {
    let value = value.trim();
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{field} must be at most {max} printable characters"
        )));
    }
    Ok(value.to_string())
}

fn validate_provider(provider: &mut NewProvider) -> StoreResult<()> {
    provider.name = crate::validate::name("provider name", &provider.name)?;
    provider.contact_email = provider_text("contact_email", &provider.contact_email, 320)?;
    provider.endpoint_url = provider_text("endpoint_url", &provider.endpoint_url, 2048)?;
    provider.legal_representative =
        provider_text("legal_representative", &provider.legal_representative, 1000)?;
    provider.member_state =
        provider_text("member_state", &provider.member_state, 2)?.to_ascii_uppercase();
    provider.contact_point = provider_text("contact_point", &provider.contact_point, 1000)?;
    Ok(())
}

/// A rule's suffix: a lowercase host name or address, without scheme, path or port.
fn host_suffix(value: &str) -> StoreResult<String> {
    let suffix = value.trim().trim_matches('.').to_ascii_lowercase();
    let valid = !suffix.is_empty()
        && suffix.len() <= 253
        && suffix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if !valid {
        return Err(StoreError::Invalid(format!(
            "host suffix must be a host name such as files.example, got {value:?}"
        )));
    }
    Ok(suffix)
}

/// `%.suffix` for LIKE, with LIKE's wildcards escaped by `\`.
fn subdomain_pattern(suffix: &str) -> String {
    let mut pattern = String::from("%.");
    for c in suffix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

fn page_limit(limit: u32) -> i64 {
    i64::from(if limit == 0 { 100 } else { limit.min(10_000) })
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Files an observation under its organisation's case for the content, opening it if needed;
/// a case's severity and confidence only grow as more copies arrive.
async fn file_under_case(
    write: &mut Write,
    org: OrgId,
    seed: &crate::referrals::CaseSeed,
) -> StoreResult<CaseId> {
    let now = write.now;
    let existing = sqlx::query(
        "SELECT id, severity, confidence FROM cases WHERE org_id = $1 AND content_key = $2",
    )
    .bind(org.0)
    .bind(&seed.content_key)
    .fetch_optional(write.conn())
    .await?;
    if let Some(row) = existing {
        let id: i64 = row.try_get("id")?;
        let severity = small::<u8>(number(&row, "severity")?, "severity")?.max(seed.severity);
        let confidence =
            small::<u8>(number(&row, "confidence")?, "confidence")?.max(seed.confidence);
        sqlx::query(
            "UPDATE cases SET severity = $1, confidence = $2, rank_score = $3, \
             observation_count = observation_count + 1, entity = COALESCE(entity, $4), \
             tier = COALESCE(tier, $5), content_id = COALESCE(content_id, $6), updated_at = $7 \
             WHERE id = $8",
        )
        .bind(i64::from(severity))
        .bind(i64::from(confidence))
        .bind(rank_score(severity, confidence))
        .bind(&seed.entity)
        .bind(seed.tier.map(|tier| i64::from(tier.number())))
        .bind(seed.content_id.map(|id| id.0))
        .bind(time_param!(now))
        .bind(id)
        .execute(write.conn())
        .await?;
        return Ok(CaseId(id));
    }
    let severity = seed.severity.min(7);
    let confidence = seed.confidence.min(3);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (org_id, content_key, content_id, status, entity, tier, severity, \
         confidence, rank_score, grounds, reason, observation_count, created_at, updated_at) \
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, '[]', '', 1, $9, $9) RETURNING id",
    )
    .bind(org.0)
    .bind(&seed.content_key)
    .bind(seed.content_id.map(|id| id.0))
    .bind(&seed.entity)
    .bind(seed.tier.map(|tier| i64::from(tier.number())))
    .bind(i64::from(severity))
    .bind(i64::from(confidence))
    .bind(rank_score(severity, confidence))
    .bind(time_param!(now))
    .fetch_one(write.conn())
    .await?;
    Ok(CaseId(id))
}

/// The most recent referred copy of this content, at another URL, that was seen gone.
async fn removed_copy(
    conn: &mut Conn,
    content_key: &str,
    sha256: Option<&str>,
    url: &str,
) -> StoreResult<Option<ReferralItemId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM referral_items WHERE state = 'gone' AND url <> $1 \
         AND (content_key = $2 OR (sha256 IS NOT NULL AND sha256 = $3)) \
         ORDER BY first_gone_at DESC, id DESC LIMIT 1",
    )
    .bind(url)
    .bind(content_key)
    .bind(sha256)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id.map(ReferralItemId))
}

/// Closes a referral's items for deduplication and cancels its outstanding checks.
async fn release_referral(write: &mut Write, id: ReferralId) -> StoreResult<()> {
    sqlx::query("UPDATE referral_items SET open = $1 WHERE referral_id = $2")
        .bind(false)
        .bind(id.0)
        .execute(write.conn())
        .await?;
    sqlx::query(
        "UPDATE url_checks SET state = 'cancelled' WHERE referral_id = $1 \
         AND state IN ('pending', 'claimed')",
    )
    .bind(id.0)
    .execute(write.conn())
    .await?;
    Ok(())
}

/// Moves a referral to `to` (compare-and-set on its current status), releasing it when `to`
/// closes it, and audits the change.
async fn move_referral(
    write: &mut Write,
    actor: &Actor,
    before: &Referral,
    to: ReferralStatus,
    at: Timestamp,
) -> StoreResult<Referral> {
    if !before.status.can_move_to(to) {
        return Err(StoreError::Conflict(format!(
            "referral {} is {}; it cannot become {}",
            before.reference, before.status, to
        )));
    }
    let at = crate::time::truncate(at);
    let mut after = before.clone();
    after.status = to;
    after.updated_at = write.now;
    match to {
        ReferralStatus::Sent => after.sent_at = Some(at),
        ReferralStatus::Acknowledged => after.acknowledged_at = Some(at),
        _ if !to.is_open() => after.closed_at = Some(at),
        _ => {}
    }
    let changed = sqlx::query(
        "UPDATE referrals SET status = $1, sent_at = $2, acknowledged_at = $3, closed_at = $4, \
         updated_at = $5 WHERE id = $6 AND status = $7",
    )
    .bind(to.as_str())
    .bind(after.sent_at.map(|at| time_param!(at)))
    .bind(after.acknowledged_at.map(|at| time_param!(at)))
    .bind(after.closed_at.map(|at| time_param!(at)))
    .bind(time_param!(after.updated_at))
    .bind(before.id.0)
    .bind(before.status.as_str())
    .execute(write.conn())
    .await?;
    if changed.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "referral {} changed meanwhile",
            before.reference
        )));
    }
    if !to.is_open() {
        release_referral(write, before.id).await?;
    }
    write
        .audit(audit(
            actor,
            Some(before.org),
            "referral.status",
            "referral",
            before.id.0,
            Some(referral_json(before)),
            Some(referral_json(&after)),
        ))
        .await?;
    Ok(after)
}

#[async_trait]
impl ReferralStore for StoreImpl {
    async fn create_provider(&self, actor: &Actor, mut new: NewProvider) -> StoreResult<Provider> {
        validate_provider(&mut new)?;
        let mut write = Write::begin(self).await?;
        let now = write.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO providers (name, contact_email, endpoint_url, delivery, notice_format, \
             legal_representative, member_state, contact_point, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.contact_email)
        .bind(&new.endpoint_url)
        .bind(new.delivery.as_str())
        .bind(new.notice_format.as_str())
        .bind(&new.legal_representative)
        .bind(&new.member_state)
        .bind(&new.contact_point)
        .bind(time_param!(now))
        .fetch_one(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || format!("provider {} already exists", new.name))
        })?;
        let provider = find_provider(write.conn(), ProviderId(id)).await?;
        write
            .audit(audit(
                actor,
                None,
                "provider.create",
                "provider",
                id,
                None,
                Some(provider_json(&provider)),
            ))
            .await?;
        write.commit().await?;
        Ok(provider)
    }

    async fn update_provider(
        &self,
        actor: &Actor,
        id: ProviderId,
        update: ProviderUpdate,
    ) -> StoreResult<Provider> {
        let mut write = Write::begin(self).await?;
        let before = find_provider(write.conn(), id).await?;
        let mut next = NewProvider {
            name: update.name.unwrap_or_else(|| before.name.clone()),
            contact_email: update
                .contact_email
                .unwrap_or_else(|| before.contact_email.clone()),
            endpoint_url: update
                .endpoint_url
                .unwrap_or_else(|| before.endpoint_url.clone()),
            delivery: update.delivery.unwrap_or(before.delivery),
            notice_format: update.notice_format.unwrap_or(before.notice_format),
            legal_representative: update
                .legal_representative
                .unwrap_or_else(|| before.legal_representative.clone()),
            member_state: update
                .member_state
                .unwrap_or_else(|| before.member_state.clone()),
            contact_point: update
                .contact_point
                .unwrap_or_else(|| before.contact_point.clone()),
        };
        validate_provider(&mut next)?;
        sqlx::query(
            "UPDATE providers SET name = $1, contact_email = $2, endpoint_url = $3, \
             delivery = $4, notice_format = $5, legal_representative = $6, member_state = $7, \
             contact_point = $8, updated_at = $9 WHERE id = $10",
        )
        .bind(&next.name)
        .bind(&next.contact_email)
        .bind(&next.endpoint_url)
        .bind(next.delivery.as_str())
        .bind(next.notice_format.as_str())
        .bind(&next.legal_representative)
        .bind(&next.member_state)
        .bind(&next.contact_point)
        .bind(time_param!(write.now))
        .bind(id.0)
        .execute(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || format!("provider {} already exists", next.name))
        })?;
        let after = find_provider(write.conn(), id).await?;
        write
            .audit(audit(
                actor,
                None,
                "provider.update",
                "provider",
                id.0,
                Some(provider_json(&before)),
                Some(provider_json(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }

    async fn provider(&self, id: ProviderId) -> StoreResult<Provider> {
        let mut conn = self.pool.acquire().await?;
        find_provider(&mut conn, id).await
    }

    async fn provider_by_name(&self, name: &str) -> StoreResult<Provider> {
        let mut conn = self.pool.acquire().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM providers WHERE name = $1")
            .bind(name.trim())
            .fetch_optional(&mut *conn)
            .await?;
        let id = id.ok_or_else(|| StoreError::NotFound(format!("provider {name}")))?;
        find_provider(&mut conn, ProviderId(id)).await
    }

    async fn list_providers(&self) -> StoreResult<Vec<Provider>> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            provider_columns!(),
            " FROM providers p ORDER BY p.name"
        ))
        .fetch_all(&mut *conn)
        .await?;
        let mut providers = rows
            .iter()
            .map(provider_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let rules = sqlx::query(
            "SELECT id, provider_id, host_suffix, created_at FROM provider_rules \
             ORDER BY host_suffix",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut by_provider: HashMap<ProviderId, Vec<ProviderRule>> = HashMap::new();
        for row in &rules {
            let rule = rule_from_row(row)?;
            by_provider.entry(rule.provider).or_default().push(rule);
        }
        for provider in &mut providers {
            provider.rules = by_provider.remove(&provider.id).unwrap_or_default();
        }
        Ok(providers)
    }

    async fn add_provider_rule(
        &self,
        actor: &Actor,
        provider: ProviderId,
        suffix: &str,
    ) -> StoreResult<(ProviderRule, u64)> {
        let suffix = host_suffix(suffix)?;
        let mut write = Write::begin(self).await?;
        let before = find_provider(write.conn(), provider).await?;
        let now = write.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO provider_rules (provider_id, host_suffix, created_at) \
             VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(provider.0)
        .bind(&suffix)
        .bind(time_param!(now))
        .fetch_one(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || format!("a rule for {suffix} already exists"))
        })?;
        // The unassigned queue empties as rules arrive: the observations waiting for this host
        // get their provider in the same transaction as the rule.
        let assigned = sqlx::query(
            "UPDATE observations SET provider_id = $1 WHERE provider_id IS NULL \
             AND (host = $2 OR host LIKE $3 ESCAPE '\\')",
        )
        .bind(provider.0)
        .bind(&suffix)
        .bind(subdomain_pattern(&suffix))
        .execute(write.conn())
        .await?
        .rows_affected();
        let after = find_provider(write.conn(), provider).await?;
        write
            .audit(audit(
                actor,
                None,
                "provider.rule.add",
                "provider",
                provider.0,
                Some(provider_json(&before)),
                Some(provider_json(&after)),
            ))
            .await?;
        write.commit().await?;
        let rule = ProviderRule {
            id: ProviderRuleId(id),
            provider,
            host_suffix: suffix,
            created_at: now,
        };
        Ok((rule, assigned))
    }

    async fn remove_provider_rule(&self, actor: &Actor, suffix: &str) -> StoreResult<()> {
        let suffix = host_suffix(suffix)?;
        let mut write = Write::begin(self).await?;
        let provider: Option<i64> =
            sqlx::query_scalar("SELECT provider_id FROM provider_rules WHERE host_suffix = $1")
                .bind(&suffix)
                .fetch_optional(write.conn())
                .await?;
        let provider =
            ProviderId(provider.ok_or_else(|| StoreError::NotFound(format!("rule {suffix}")))?);
        let before = find_provider(write.conn(), provider).await?;
        sqlx::query("DELETE FROM provider_rules WHERE host_suffix = $1")
            .bind(&suffix)
            .execute(write.conn())
            .await?;
        let after = find_provider(write.conn(), provider).await?;
        write
            .audit(audit(
                actor,
                None,
                "provider.rule.remove",
                "provider",
                provider.0,
                Some(provider_json(&before)),
                Some(provider_json(&after)),
            ))
            .await?;
        write.commit().await
    }

    async fn record_observations(
        &self,
        actor: &Actor,
        org: OrgId,
        observations: Vec<NewObservation>,
    ) -> StoreResult<Vec<Observation>> {
        if observations.is_empty() {
            return Ok(Vec::new());
        }
        let mut write = Write::begin(self).await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM organisations WHERE id = $1")
            .bind(org.0)
            .fetch_optional(write.conn())
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("organisation {}", org.0)));
        }
        let now = write.now;
        let submitted_by = actor.to_string();
        let mut ids = Vec::with_capacity(observations.len());
        for observation in &observations {
            let case = match &observation.case {
                Some(seed) => Some(file_under_case(&mut write, org, seed).await?),
                None => None,
            };
            let reupload_of = match (&observation.case, observation.outcome) {
                (Some(seed), crate::referrals::FetchKind::Live) => {
                    removed_copy(
                        write.conn(),
                        &seed.content_key,
                        observation.sha256.as_deref(),
                        &observation.url,
                    )
                    .await?
                }
                _ => None,
            };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO observations (org_id, case_id, url, host, final_url, media_url, \
                 found_in, fetched_at, outcome, http_status, content_type, size, md5, sha256, \
                 pdq, pdq_quality, matches, best_content_id, best_distance, provider_id, \
                 source, submitted_by, evidence, reupload_of_item, created_at) VALUES ($1, $2, \
                 $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
                 $20, $21, $22, $23, $24, $25) RETURNING id",
            )
            .bind(org.0)
            .bind(case.map(|case| case.0))
            .bind(&observation.url)
            .bind(observation.host.to_ascii_lowercase())
            .bind(&observation.final_url)
            .bind(&observation.media_url)
            .bind(&observation.found_in)
            .bind(time_param!(observation.fetched_at))
            .bind(observation.outcome.as_str())
            .bind(observation.http_status.map(i64::from))
            .bind(&observation.content_type)
            .bind(
                observation
                    .size
                    .map(|size| i64::try_from(size).unwrap_or(i64::MAX)),
            )
            .bind(&observation.md5)
            .bind(&observation.sha256)
            .bind(&observation.pdq)
            .bind(observation.pdq_quality.map(i64::from))
            .bind(matches_json(&observation.matches))
            .bind(observation.matches.first().map(|hit| hit.content.0))
            .bind(
                observation
                    .matches
                    .first()
                    .map(|hit| i64::from(hit.distance)),
            )
            .bind(observation.provider.map(|provider| provider.0))
            .bind(&observation.source)
            .bind(&submitted_by)
            .bind(&observation.evidence)
            .bind(reupload_of.map(|item| item.0))
            .bind(time_param!(now))
            .fetch_one(write.conn())
            .await?;
            ids.push(id);
        }
        let summary = serde_json::json!({
            "observations": ids,
            "urls": observations.iter().map(|o| o.url.as_str()).collect::<Vec<_>>(),
        })
        .to_string();
        write
            .audit(audit(
                actor,
                Some(org),
                "observation.record",
                "observation",
                ids[0],
                None,
                Some(summary),
            ))
            .await?;
        let mut recorded = Vec::with_capacity(ids.len());
        for id in ids {
            recorded.push(find_observation(write.conn(), ObservationId(id)).await?);
        }
        write.commit().await?;
        Ok(recorded)
    }

    async fn observation(&self, id: ObservationId) -> StoreResult<Observation> {
        let mut conn = self.pool.acquire().await?;
        find_observation(&mut conn, id).await
    }

    async fn observations(&self, query: &ObservationQuery) -> StoreResult<Vec<Observation>> {
        let mut sql = QueryBuilder::<super::super::Db>::new(concat!(
            "SELECT ",
            observation_columns!(),
            " FROM observations o WHERE o.id > "
        ));
        sql.push_bind(query.after.map_or(0, |id| id.0));
        if let Some(org) = query.org {
            sql.push(" AND o.org_id = ").push_bind(org.0);
        }
        if let Some(case) = query.case {
            sql.push(" AND o.case_id = ").push_bind(case.0);
        }
        if query.unassigned {
            sql.push(" AND o.provider_id IS NULL AND o.outcome = 'live'");
        }
        if query.reuploads {
            sql.push(" AND o.reupload_of_item IS NOT NULL");
        }
        sql.push(" ORDER BY o.id LIMIT ")
            .push_bind(page_limit(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(observation_from_row).collect()
    }

    async fn case(&self, id: CaseId) -> StoreResult<Case> {
        let mut conn = self.pool.acquire().await?;
        find_case(&mut conn, id).await
    }

    async fn cases(&self, query: &CaseQuery) -> StoreResult<Vec<Case>> {
        let mut sql = QueryBuilder::<super::super::Db>::new(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases c WHERE 1 = 1"
        ));
        if let Some(org) = query.org {
            sql.push(" AND c.org_id = ").push_bind(org.0);
        }
        if let Some(status) = query.status {
            sql.push(" AND c.status = ").push_bind(status.as_str());
        }
        sql.push(" ORDER BY c.rank_score DESC, c.observation_count DESC, c.id LIMIT ")
            .push_bind(page_limit(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(case_from_row).collect()
    }

    async fn decide_case(
        &self,
        actor: &Actor,
        id: CaseId,
        decision: NewDecision,
    ) -> StoreResult<Case> {
        crate::validate::text("reason", &decision.reason)?;
        let entity = decision
            .entity
            .as_deref()
            .map(takedown_model::Labels::normalise_entity)
            .transpose()
            .map_err(|error| StoreError::Invalid(error.to_string()))?;
        let mut write = Write::begin(self).await?;
        let before = find_case(write.conn(), id).await?;
        let now = write.now;
        let reviewer = actor.to_string();
        sqlx::query(
            "INSERT INTO case_decisions (case_id, decision, entity, tier, grounds, reason, \
             reviewer, decided_at, added_content_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.0)
        .bind(decision.decision.as_str())
        .bind(&entity)
        .bind(decision.tier.map(|tier| i64::from(tier.number())))
        .bind(grounds_json(&decision.grounds))
        .bind(&decision.reason)
        .bind(&reviewer)
        .bind(time_param!(now))
        .bind(decision.added_content.map(|content| content.0))
        .execute(write.conn())
        .await?;
        let mut after = before.clone();
        after.status = match decision.decision {
            DecisionKind::Confirm => CaseStatus::Confirmed,
            DecisionKind::Reject => CaseStatus::Rejected,
        };
        if decision.decision == DecisionKind::Confirm {
            after.entity = entity.or(before.entity.clone());
            after.tier = decision.tier.or(before.tier);
            after.grounds = decision.grounds.clone();
        }
        after.reason = decision.reason.clone();
        after.decided_by = Some(reviewer);
        after.decided_at = Some(now);
        after.updated_at = now;
        if let Some(content) = decision.added_content {
            // Re-key to the new bank item so later copies that match it join this case, unless
            // the organisation already has a case under that key.
            let key = format!("content:{}", content.0);
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM cases WHERE org_id = $1 AND content_key = $2 AND id <> $3",
            )
            .bind(before.org.0)
            .bind(&key)
            .bind(id.0)
            .fetch_optional(write.conn())
            .await?;
            if taken.is_none() {
                after.content_key = key;
            }
            after.content_id = Some(content);
        }
        sqlx::query(
            "UPDATE cases SET status = $1, entity = $2, tier = $3, grounds = $4, reason = $5, \
             decided_by = $6, decided_at = $7, updated_at = $8, content_key = $9, \
             content_id = $10 WHERE id = $11",
        )
        .bind(after.status.as_str())
        .bind(&after.entity)
        .bind(after.tier.map(|tier| i64::from(tier.number())))
        .bind(grounds_json(&after.grounds))
        .bind(&after.reason)
        .bind(&after.decided_by)
        .bind(time_param!(now))
        .bind(time_param!(now))
        .bind(&after.content_key)
        .bind(after.content_id.map(|content| content.0))
        .bind(id.0)
        .execute(write.conn())
        .await?;
        write
            .audit(audit(
                actor,
                Some(before.org),
                "case.decide",
                "case",
                id.0,
                Some(case_json(&before)),
                Some(case_json(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }

    async fn case_decisions(&self, id: CaseId) -> StoreResult<Vec<CaseDecision>> {
        let rows = sqlx::query(
            "SELECT case_id, decision, entity, tier, grounds, reason, reviewer, decided_at, \
             added_content_id FROM case_decisions WHERE case_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decision_from_row).collect()
    }

    async fn referable_observations(
        &self,
        org: OrgId,
        provider: Option<ProviderId>,
    ) -> StoreResult<Vec<Observation>> {
        let mut sql = QueryBuilder::<super::super::Db>::new(concat!(
            "SELECT ",
            observation_columns!(),
            " FROM observations o JOIN cases c ON c.id = o.case_id \
             WHERE c.status = 'confirmed' AND o.outcome = 'live' AND o.provider_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM referral_items i WHERE i.provider_id = o.provider_id \
             AND i.url = o.url AND i.open) \
             AND NOT EXISTS (SELECT 1 FROM referral_items i WHERE i.observation_id = o.id) \
             AND o.org_id = "
        ));
        sql.push_bind(org.0);
        if let Some(provider) = provider {
            sql.push(" AND o.provider_id = ").push_bind(provider.0);
        }
        sql.push(" ORDER BY o.id");
        let rows = sql.build().fetch_all(&self.pool).await?;
        let observations = rows
            .iter()
            .map(observation_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // One per URL: the latest observation of it.
        let mut latest: HashMap<(ProviderId, String), Observation> = HashMap::new();
        for observation in observations {
            if let Some(provider) = observation.provider {
                latest.insert((provider, observation.url.clone()), observation);
            }
        }
        let mut unique: Vec<Observation> = latest.into_values().collect();
        unique.sort_by_key(|observation| observation.id);
        Ok(unique)
    }

    async fn open_item_for_url(
        &self,
        provider: ProviderId,
        url: &str,
    ) -> StoreResult<Option<(ReferralItem, String)>> {
        let mut conn = self.pool.acquire().await?;
        open_item(&mut conn, provider, url).await
    }

    async fn create_referral(&self, actor: &Actor, new: NewReferral) -> StoreResult<Referral> {
        if new.items.is_empty() {
            return Err(StoreError::Invalid(
                "a referral needs at least one URL".into(),
            ));
        }
        crate::validate::text("note", &new.note)?;
        let mut write = Write::begin(self).await?;
        find_provider(write.conn(), new.provider).await?;
        let now = write.now;
        // The reference needs the id: insert under a placeholder, then set it.
        let placeholder = format!("pending-{}", rand::random::<u64>());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO referrals (org_id, provider_id, reference, status, notice_format, note, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $7) \
             RETURNING id",
        )
        .bind(new.org.0)
        .bind(new.provider.0)
        .bind(&placeholder)
        .bind(new.notice_format.as_str())
        .bind(&new.note)
        .bind(actor.to_string())
        .bind(time_param!(now))
        .fetch_one(write.conn())
        .await?;
        let reference = format!("TD-{}-{id:06}", now.format("%Y"));
        sqlx::query("UPDATE referrals SET reference = $1 WHERE id = $2")
            .bind(&reference)
            .bind(id)
            .execute(write.conn())
            .await?;
        for item in &new.items {
            let observation = find_observation(write.conn(), item.observation).await?;
            if observation.org != new.org {
                return Err(StoreError::NotFound(format!(
                    "observation {}",
                    item.observation
                )));
            }
            if observation.provider != Some(new.provider) {
                return Err(StoreError::Invalid(format!(
                    "{} is not hosted by this provider",
                    observation.url
                )));
            }
            if let Some((_, existing)) =
                open_item(write.conn(), new.provider, &observation.url).await?
            {
                return Err(StoreError::Conflict(format!(
                    "{} is already in open referral {existing} to this provider",
                    observation.url
                )));
            }
            let case = match observation.case {
                Some(case) => Some(find_case(write.conn(), case).await?),
                None => None,
            };
            let content_key = case.as_ref().map_or_else(
                || format!("observation:{}", observation.id),
                |case| case.content_key.clone(),
            );
            let content_id = case.as_ref().and_then(|case| case.content_id);
            let bank_name = observation
                .matches
                .iter()
                .find(|hit| Some(hit.content) == content_id)
                .or(observation.matches.first())
                .map(|hit| hit.bank_name.clone());
            let grounds = if item.grounds.is_empty() {
                case.as_ref()
                    .map(|case| case.grounds.clone())
                    .unwrap_or_default()
            } else {
                item.grounds.clone()
            };
            crate::validate::text("reason", &item.reason)?;
            sqlx::query(
                "INSERT INTO referral_items (referral_id, org_id, provider_id, url, media_url, \
                 observation_id, case_id, content_key, content_id, bank_name, entity, tier, \
                 grounds, reason, md5, sha256, pdq, content_type, captured_at, reupload_of_item, \
                 state, open, last_live_at, checks_done) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                 $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 'live', $21, $22, 0)",
            )
            .bind(id)
            .bind(new.org.0)
            .bind(new.provider.0)
            .bind(&observation.url)
            .bind(&observation.media_url)
            .bind(observation.id.0)
            .bind(observation.case.map(|case| case.0))
            .bind(&content_key)
            .bind(content_id.map(|content| content.0))
            .bind(&bank_name)
            .bind(case.as_ref().and_then(|case| case.entity.clone()))
            .bind(
                case.as_ref()
                    .and_then(|case| case.tier)
                    .map(|tier| i64::from(tier.number())),
            )
            .bind(grounds_json(&grounds))
            .bind(&item.reason)
            .bind(&observation.md5)
            .bind(&observation.sha256)
            .bind(&observation.pdq)
            .bind(&observation.content_type)
            .bind(time_param!(observation.fetched_at))
            .bind(observation.reupload_of.map(|item| item.0))
            .bind(true)
            .bind(time_param!(observation.fetched_at))
            .execute(write.conn())
            .await
            .map_err(|error| {
                // Another transaction referred the URL between the check above and here.
                conflict_on_unique(error, || {
                    format!(
                        "{} is already in an open referral to this provider",
                        observation.url
                    )
                })
            })?;
        }
        let referral = find_referral(write.conn(), ReferralId(id)).await?;
        write
            .audit(audit(
                actor,
                Some(new.org),
                "referral.create",
                "referral",
                id,
                None,
                Some(referral_json(&referral)),
            ))
            .await?;
        write.commit().await?;
        Ok(referral)
    }

    async fn referral(&self, id: ReferralId) -> StoreResult<Referral> {
        let mut conn = self.pool.acquire().await?;
        find_referral(&mut conn, id).await
    }

    async fn referral_by_reference(&self, reference: &str) -> StoreResult<Referral> {
        let row = sqlx::query(concat!(
            "SELECT ",
            referral_columns!(),
            " FROM referrals r WHERE r.reference = $1"
        ))
        .bind(reference.trim())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("referral {reference}")))?;
        referral_from_row(&row)
    }

    async fn referrals(&self, query: &ReferralQuery) -> StoreResult<Vec<Referral>> {
        let mut sql = QueryBuilder::<super::super::Db>::new(concat!(
            "SELECT ",
            referral_columns!(),
            " FROM referrals r WHERE r.id < "
        ));
        sql.push_bind(query.before.map_or(i64::MAX, |id| id.0));
        if let Some(org) = query.org {
            sql.push(" AND r.org_id = ").push_bind(org.0);
        }
        if let Some(provider) = query.provider {
            sql.push(" AND r.provider_id = ").push_bind(provider.0);
        }
        if let Some(status) = query.status {
            sql.push(" AND r.status = ").push_bind(status.as_str());
        }
        sql.push(" ORDER BY r.id DESC LIMIT ")
            .push_bind(page_limit(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(referral_from_row).collect()
    }

    async fn referral_items(&self, id: ReferralId) -> StoreResult<Vec<ReferralItem>> {
        let mut conn = self.pool.acquire().await?;
        find_items(&mut conn, id).await
    }

    async fn referral_checks(&self, id: ReferralId) -> StoreResult<Vec<UrlCheck>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            check_columns!(),
            " FROM url_checks k WHERE k.referral_id = $1 ORDER BY k.item_id, k.sequence"
        ))
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(check_from_row).collect()
    }

    async fn set_referral_status(
        &self,
        actor: &Actor,
        id: ReferralId,
        to: ReferralStatus,
    ) -> StoreResult<Referral> {
        if to == ReferralStatus::Sent {
            return Err(StoreError::Invalid(
                "a referral becomes sent when its message is delivered".into(),
            ));
        }
        let mut write = Write::begin(self).await?;
        let before = find_referral(write.conn(), id).await?;
        let now = write.now;
        let after = move_referral(&mut write, actor, &before, to, now).await?;
        write.commit().await?;
        Ok(after)
    }

    async fn enqueue_message(
        &self,
        actor: &Actor,
        referral: ReferralId,
        new: NewOutboxMessage,
    ) -> StoreResult<OutboxMessage> {
        let mut write = Write::begin(self).await?;
        let before = find_referral(write.conn(), referral).await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE referral_id = $1 \
             AND state IN ('pending', 'sending', 'sent') ORDER BY id DESC LIMIT 1",
        )
        .bind(referral.0)
        .fetch_optional(write.conn())
        .await?;
        if let Some(existing) = existing {
            return find_message(write.conn(), OutboxId(existing)).await;
        }
        if before.status != ReferralStatus::Draft {
            return Err(StoreError::Conflict(format!(
                "referral {} is {}; only drafts are sent",
                before.reference, before.status
            )));
        }
        let now = write.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (referral_id, channel, idempotency_key, sender, recipient, \
             subject, content_type, body, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9) RETURNING id",
        )
        .bind(referral.0)
        .bind(new.channel.as_str())
        .bind(&new.idempotency_key)
        .bind(&new.sender)
        .bind(&new.recipient)
        .bind(&new.subject)
        .bind(&new.content_type)
        .bind(&new.body)
        .bind(time_param!(now))
        .fetch_one(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || {
                format!("idempotency key {} is already used", new.idempotency_key)
            })
        })?;
        sqlx::query("UPDATE referrals SET queued_at = $1, updated_at = $1 WHERE id = $2")
            .bind(time_param!(now))
            .bind(referral.0)
            .execute(write.conn())
            .await?;
        let message = find_message(write.conn(), OutboxId(id)).await?;
        write
            .audit(audit(
                actor,
                Some(before.org),
                "referral.queue",
                "referral",
                referral.0,
                None,
                Some(
                    serde_json::json!({
                        "reference": before.reference,
                        "outbox": id,
                        "channel": new.channel.as_str(),
                        "recipient": new.recipient,
                        "idempotency_key": new.idempotency_key,
                    })
                    .to_string(),
                ),
            ))
            .await?;
        write.commit().await?;
        Ok(message)
    }

    async fn outbox_messages(&self, referral: ReferralId) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            outbox_columns!(),
            " FROM outbox m WHERE m.referral_id = $1 ORDER BY m.id"
        ))
        .bind(referral.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn claim_messages(
        &self,
        owner: &str,
        now: Timestamp,
        lease: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let until = now + lease;
        let mut ids: Vec<i64> = Vec::new();
        // Messages whose worker died mid-send first: they have waited longest.
        for (state, due_column) in [
            ("sending", "lease_expires_at"),
            ("pending", "next_attempt_at"),
        ] {
            let room = i64::from(limit) - ids.len() as i64;
            if room <= 0 {
                break;
            }
            let statement = format!(
                "UPDATE outbox SET state = 'sending', lease_owner = $1, lease_expires_at = $2, \
                 attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox WHERE state = \
                 '{state}' AND {due_column} <= $3 ORDER BY {due_column} LIMIT $4{}) RETURNING id",
                skip_locked()
            );
            let claimed: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(statement))
                .bind(owner)
                .bind(time_param!(until))
                .bind(time_param!(now))
                .bind(room)
                .fetch_all(&self.pool)
                .await?;
            ids.extend(claimed);
        }
        let mut conn = self.pool.acquire().await?;
        let mut messages = Vec::with_capacity(ids.len());
        for id in ids {
            messages.push(find_message(&mut conn, OutboxId(id)).await?);
        }
        Ok(messages)
    }

    async fn record_delivery(
        &self,
        owner: &str,
        id: OutboxId,
        report: DeliveryReport,
    ) -> StoreResult<bool> {
        let mut write = Write::begin(self).await?;
        let message = find_message(write.conn(), id).await?;
        if message.state != OutboxState::Sending || message.lease_owner.as_deref() != Some(owner) {
            return Ok(false);
        }
        match report {
            DeliveryReport::Delivered {
                at,
                response,
                first_check_due,
            } => {
                sqlx::query(
                    "UPDATE outbox SET state = 'sent', sent_at = $1, response = $2, \
                     last_error = NULL WHERE id = $3",
                )
                .bind(time_param!(at))
                .bind(&response)
                .bind(id.0)
                .execute(write.conn())
                .await?;
                let before = find_referral(write.conn(), message.referral).await?;
                if before.status == ReferralStatus::Draft {
                    move_referral(
                        &mut write,
                        &Actor::System,
                        &before,
                        ReferralStatus::Sent,
                        at,
                    )
                    .await?;
                    let items = find_items(write.conn(), message.referral).await?;
                    for item in items.iter().filter(|item| item.open) {
                        sqlx::query(
                            "INSERT INTO url_checks (item_id, referral_id, sequence, due_at, \
                             state, claims) VALUES ($1, $2, 1, $3, 'pending', 0) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(item.id.0)
                        .bind(message.referral.0)
                        .bind(time_param!(first_check_due))
                        .execute(write.conn())
                        .await?;
                    }
                }
            }
            DeliveryReport::Retry { error, retry_at } => {
                sqlx::query(
                    "UPDATE outbox SET state = 'pending', last_error = $1, next_attempt_at = $2, \
                     lease_owner = NULL, lease_expires_at = NULL WHERE id = $3",
                )
                .bind(&error)
                .bind(time_param!(retry_at))
                .bind(id.0)
                .execute(write.conn())
                .await?;
            }
            DeliveryReport::Failed { error } => {
                sqlx::query(
                    "UPDATE outbox SET state = 'failed', last_error = $1, lease_owner = NULL, \
                     lease_expires_at = NULL WHERE id = $2",
                )
                .bind(&error)
                .bind(id.0)
                .execute(write.conn())
                .await?;
            }
        }
        write.commit().await?;
        Ok(true)
    }

    async fn claim_checks(
        &self,
        owner: &str,
        now: Timestamp,
        lease: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCheck>> {
        let until = now + lease;
        let mut ids: Vec<i64> = Vec::new();
        // Checks whose worker died (lease expired) first: they are the most overdue.
        for (state, due_column) in [("claimed", "lease_expires_at"), ("pending", "due_at")] {
            let room = i64::from(limit) - ids.len() as i64;
            if room <= 0 {
                break;
            }
            let statement = format!(
                "UPDATE url_checks SET state = 'claimed', lease_owner = $1, lease_expires_at = $2, \
                 claims = claims + 1 WHERE id IN (SELECT id FROM url_checks WHERE state = \
                 '{state}' AND {due_column} <= $3 ORDER BY {due_column} LIMIT $4{}) RETURNING id",
                skip_locked()
            );
            let claimed: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(statement))
                .bind(owner)
                .bind(time_param!(until))
                .bind(time_param!(now))
                .bind(room)
                .fetch_all(&self.pool)
                .await?;
            ids.extend(claimed);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await?;
        let mut query = QueryBuilder::<super::super::Db>::new(concat!(
            "SELECT ",
            check_columns!(),
            " FROM url_checks k WHERE k.id IN ("
        ));
        let mut list = query.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        query.push(") ORDER BY k.due_at, k.id");
        let rows = query.build().fetch_all(&mut *conn).await?;
        let checks = rows
            .iter()
            .map(check_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut items: HashMap<ReferralItemId, ReferralItem> = HashMap::new();
        let mut sent: HashMap<ReferralId, Timestamp> = HashMap::new();
        let mut claimed = Vec::with_capacity(checks.len());
        for check in checks {
            if let Entry::Vacant(slot) = items.entry(check.item) {
                let row = sqlx::query(concat!(
                    "SELECT ",
                    item_columns!(),
                    " FROM referral_items i WHERE i.id = $1"
                ))
                .bind(check.item.0)
                .fetch_one(&mut *conn)
                .await?;
                slot.insert(item_from_row(&row)?);
            }
            if let Entry::Vacant(slot) = sent.entry(check.referral) {
                let referral = find_referral(&mut conn, check.referral).await?;
                slot.insert(referral.sent_at.unwrap_or(referral.created_at));
            }
            let (Some(item), Some(sent_at)) = (items.get(&check.item), sent.get(&check.referral))
            else {
                continue;
            };
            claimed.push(ClaimedCheck {
                item: item.clone(),
                sent_at: *sent_at,
                check,
            });
        }
        Ok(claimed)
    }

    async fn record_check(
        &self,
        owner: &str,
        id: CheckId,
        result: CheckResult,
        next_due: Option<Timestamp>,
    ) -> StoreResult<RecordedCheck> {
        let not_recorded = RecordedCheck {
            recorded: false,
            referral_status: None,
        };
        let mut write = Write::begin(self).await?;
        let check = find_check(write.conn(), id).await?;
        if check.state != CheckState::Claimed || check.lease_owner.as_deref() != Some(owner) {
            return Ok(not_recorded);
        }
        let checked_at = crate::time::truncate(result.checked_at);
        sqlx::query(
            "UPDATE url_checks SET state = 'done', checked_at = $1, method = $2, \
             http_status = $3, final_url = $4, content_type = $5, md5 = $6, sha256 = $7, \
             pdq_distance = $8, outcome = $9, evidence = $10 WHERE id = $11",
        )
        .bind(time_param!(checked_at))
        .bind(&result.method)
        .bind(result.http_status.map(i64::from))
        .bind(&result.final_url)
        .bind(&result.content_type)
        .bind(&result.md5)
        .bind(&result.sha256)
        .bind(result.pdq_distance.map(i64::from))
        .bind(result.outcome.as_str())
        .bind(&result.evidence)
        .bind(id.0)
        .execute(write.conn())
        .await?;
        let item_row = sqlx::query(concat!(
            "SELECT ",
            item_columns!(),
            " FROM referral_items i WHERE i.id = $1"
        ))
        .bind(check.item.0)
        .fetch_one(write.conn())
        .await?;
        let item = item_from_row(&item_row)?;
        let gone_now = result.outcome.is_gone() && item.state == ItemState::Live;
        if gone_now {
            sqlx::query(
                "UPDATE referral_items SET state = 'gone', open = $1, first_gone_at = $2, \
                 gone_outcome = $3, checks_done = checks_done + 1 WHERE id = $4",
            )
            .bind(false)
            .bind(time_param!(checked_at))
            .bind(result.outcome.as_str())
            .bind(item.id.0)
            .execute(write.conn())
            .await?;
        } else if result.outcome == crate::referrals::CheckOutcome::Live {
            sqlx::query(
                "UPDATE referral_items SET last_live_at = $1, checks_done = checks_done + 1 \
                 WHERE id = $2",
            )
            .bind(time_param!(checked_at))
            .bind(item.id.0)
            .execute(write.conn())
            .await?;
        } else {
            sqlx::query("UPDATE referral_items SET checks_done = checks_done + 1 WHERE id = $1")
                .bind(item.id.0)
                .execute(write.conn())
                .await?;
        }
        let still_live = item.state == ItemState::Live && !gone_now;
        if let (true, Some(due)) = (still_live, next_due) {
            sqlx::query(
                "INSERT INTO url_checks (item_id, referral_id, sequence, due_at, state, claims) \
                 VALUES ($1, $2, $3, $4, 'pending', 0) ON CONFLICT DO NOTHING",
            )
            .bind(item.id.0)
            .bind(check.referral.0)
            .bind(i64::from(check.sequence) + 1)
            .bind(time_param!(due))
            .execute(write.conn())
            .await?;
        }
        // The referral follows its URLs: all gone is removed; a schedule that ran out with
        // URLs still live is partially removed or expired.
        let referral = find_referral(write.conn(), check.referral).await?;
        let mut new_status = None;
        if matches!(
            referral.status,
            ReferralStatus::Sent | ReferralStatus::Acknowledged
        ) {
            let counts = sqlx::query(
                "SELECT COUNT(*) AS total, \
                 COALESCE(SUM(CASE WHEN state = 'gone' THEN 1 ELSE 0 END), 0) AS gone \
                 FROM referral_items WHERE referral_id = $1",
            )
            .bind(check.referral.0)
            .fetch_one(write.conn())
            .await?;
            let total = number(&counts, "total")?;
            let gone = number(&counts, "gone")?;
            let outstanding: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM url_checks WHERE referral_id = $1 \
                 AND state IN ('pending', 'claimed')",
            )
            .bind(check.referral.0)
            .fetch_one(write.conn())
            .await?;
            let to = if gone == total {
                Some(ReferralStatus::Removed)
            } else if outstanding == 0 {
                Some(if gone > 0 {
                    ReferralStatus::PartiallyRemoved
                } else {
                    ReferralStatus::Expired
                })
            } else {
                None
            };
            if let Some(to) = to {
                let actor = Actor::System;
                move_referral(&mut write, &actor, &referral, to, checked_at).await?;
                new_status = Some(to);
            }
        }
        write.commit().await?;
        Ok(RecordedCheck {
            recorded: true,
            referral_status: new_status,
        })
    }

    async fn check_counts(&self) -> StoreResult<CheckCounts> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM url_checks GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = CheckCounts::default();
        for row in &rows {
            let n = small::<u64>(number(row, "n")?, "count")?;
            match parse_stored::<CheckState>(&text(row, "state")?)? {
                CheckState::Pending => counts.pending = n,
                CheckState::Claimed => counts.claimed = n,
                CheckState::Done => counts.done = n,
                CheckState::Cancelled => {}
            }
        }
        let next = sqlx::query(
            "SELECT due_at FROM url_checks WHERE state = 'pending' ORDER BY due_at LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        counts.next_due = next.map(|row| time(&row, "due_at")).transpose()?;
        Ok(counts)
    }
}
