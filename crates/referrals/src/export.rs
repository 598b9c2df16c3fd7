//! A referral in the formats providers and regulators use: a plain-text notice, takedown's JSON,
//! an EU removal order (Regulation (EU) 2021/784, Annex I) as JSON and as a printable HTML page,
//! and draft DSA statements of reasons (the transparency database's field names).
//!
//! These are wire formats: the field names are the documents' own and must not change with the
//! code's names.

use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::{json, Value};
use takedown_engine::Caller;
use takedown_model::{Tier, Timestamp};
use takedown_store::referrals::{Ground, ReferralItem, UrlCheck};

use crate::referral::{ItemDetail, ReferralDetail, RemovalTiming};
use crate::{ReferralError, ReferralResult, Referrals, SenderInfo};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// A plain-text notice (the body of an e-mail referral).
    Text,
    /// takedown's JSON referral with evidence and check history.
    Json,
    /// An EU removal order, Annex I fields, as JSON.
    EuOrderJson,
    /// The same removal order as a self-contained, printable HTML page.
    EuOrderHtml,
    /// Draft DSA statements of reasons, one per URL.
    Dsa,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Text,
        ExportFormat::Json,
        ExportFormat::EuOrderJson,
        ExportFormat::EuOrderHtml,
        ExportFormat::Dsa,
    ];

    /// The format's name (`text`, `json`, `eu-order-json`, `eu-order-html`, `dsa`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Text => "text",
            ExportFormat::Json => "json",
            ExportFormat::EuOrderJson => "eu-order-json",
            ExportFormat::EuOrderHtml => "eu-order-html",
            ExportFormat::Dsa => "dsa",
        }
    }

    /// The MIME type of the export.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Text => "text/plain; charset=utf-8",
            ExportFormat::EuOrderHtml => "text/html; charset=utf-8",
            ExportFormat::Json | ExportFormat::EuOrderJson | ExportFormat::Dsa => {
                "application/json"
            }
        }
    }

    /// A file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Text => "txt",
            ExportFormat::EuOrderHtml => "html",
            _ => "json",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = ReferralError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase().replace('_', "-");
        ExportFormat::ALL
            .into_iter()
            .find(|format| format.as_str() == lower)
            .ok_or_else(|| {
                ReferralError::invalid(
                    "format",
                    format!(
                        "must be one of text, json, eu-order-json, eu-order-html, dsa; got {text:?}"
                    ),
                )
            })
    }
}

impl Referrals {
    /// A referral the caller may see, exported in `format`.
    pub async fn export(
        &self,
        caller: &Caller,
        key: &str,
        format: ExportFormat,
    ) -> ReferralResult<String> {
        let detail = self.referral_detail(caller, key).await?;
        let issued = detail
            .referral
            .queued_at
            .unwrap_or_else(|| self.clock().now());
        Ok(render(&detail, &self.config.sender, format, issued))
    }
}

/// Renders a referral. `issued` is the date of issue printed on it.
pub fn render(
    detail: &ReferralDetail,
    sender: &SenderInfo,
    format: ExportFormat,
    issued: Timestamp,
) -> String {
    match format {
        ExportFormat::Text => text_notice(detail, sender, issued),
        ExportFormat::Json => pretty(&referral_json(detail, sender, issued)),
        ExportFormat::EuOrderJson => pretty(&removal_order(detail, sender, issued)),
        ExportFormat::EuOrderHtml => removal_order_html(detail, sender, issued),
        ExportFormat::Dsa => pretty(&statements_of_reasons(detail, sender, issued)),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn time(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn date(at: Timestamp) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn tier_text(tier: Tier) -> &'static str {
    match tier {
        Tier::ThreatToLife => "1 (threat to life)",
        Tier::Crisis => "2 (crisis content)",
        Tier::OfficialPropaganda => "3 (official propaganda of a designated group)",
        Tier::Promotional => "4 (promotional content)",
    }
}

/// The wording of each Art. 2(7) ground as the removal order's section C prints it.
pub fn ground_text(ground: Ground) -> &'static str {
    match ground {
        Ground::Incites => {
            "incites the commission of terrorist offences, such as by the glorification of \
             terrorist acts, advocating the commission of such offences (Art. 2(7)(a))"
        }
        Ground::Solicits => {
            "solicits a person or a group of persons to commit or contribute to the commission \
             of terrorist offences (Art. 2(7)(b))"
        }
        Ground::SolicitsParticipation => {
            "solicits a person or a group of persons to participate in the activities of a \
             terrorist group (Art. 2(7)(c))"
        }
        Ground::Instructs => {
            "provides instruction on the making or use of explosives, firearms or other \
             weapons or noxious or hazardous substances, or on other specific methods or \
             techniques for the purpose of committing or contributing to the commission of \
             terrorist offences (Art. 2(7)(d))"
        }
        Ground::Threatens => {
            "constitutes a threat to commit one of the terrorist offences (Art. 2(7)(e))"
        }
    }
}

fn evidence_line(item: &ReferralItem) -> String {
    let mut parts = vec![format!("captured {}", time(item.captured_at))];
    if let Some(sha256) = &item.sha256 {
        parts.push(format!("SHA-256 {sha256}"));
    }
    if let Some(md5) = &item.md5 {
        parts.push(format!("MD5 {md5}"));
    }
    if let Some(pdq) = &item.pdq {
        parts.push(format!("PDQ {pdq}"));
    }
    if let (Some(content), Some(bank)) = (item.content_id, &item.bank_name) {
        parts.push(format!("matches known item {} in bank {bank}", content.0));
    }
    parts.join("; ")
}

fn duration_seconds(duration: chrono::Duration) -> i64 {
    duration.num_seconds()
}

fn timing_json(timing: &Option<RemovalTiming>) -> Value {
    match timing {
        None => Value::Null,
        Some(timing) => json!({
            "sent_at": time(timing.sent_at),
            "last_seen_live": timing.last_seen_live.map(time),
            "first_seen_gone": time(timing.first_seen_gone),
            "time_to_removal_seconds": duration_seconds(timing.time_to_removal),
            "removed_no_earlier_than_seconds": duration_seconds(timing.at_least),
        }),
    }
}

fn check_json(check: &UrlCheck) -> Value {
    let result = check.result.as_ref();
    json!({
        "sequence": check.sequence,
        "due_at": time(check.due_at),
        "state": check.state.as_str(),
        "checked_at": result.map(|r| time(r.checked_at)),
        "method": result.map(|r| r.method.clone()),
        "http_status": result.and_then(|r| r.http_status),
        "final_url": result.and_then(|r| r.final_url.clone()),
        "content_digest_sha256": result.and_then(|r| r.sha256.clone()),
        "pdq_distance": result.and_then(|r| r.pdq_distance),
        "outcome": result.map(|r| r.outcome.as_str()),
    })
}

fn referral_json(detail: &ReferralDetail, sender: &SenderInfo, issued: Timestamp) -> Value {
    let referral = &detail.referral;
    json!({
        "reference": referral.reference,
        "status": referral.status.as_str(),
        "issued_at": time(issued),
        "created_at": time(referral.created_at),
        "sent_at": referral.sent_at.map(time),
        "acknowledged_at": referral.acknowledged_at.map(time),
        "closed_at": referral.closed_at.map(time),
        "sender": {
            "organisation": if sender.organisation.is_empty() { detail.org_name.clone() } else { sender.organisation.clone() },
            "email": sender.email,
            "contact_point": sender.contact_point,
        },
        "provider": {
            "name": detail.provider.name,
            "contact_email": detail.provider.contact_email,
        },
        "note": referral.note,
        "items": detail.items.iter().map(item_json).collect::<Vec<_>>(),
        "removal": timing_json(&detail.removal),
    })
}

fn item_json(detail: &ItemDetail) -> Value {
    let item = &detail.item;
    json!({
        "url": item.url,
        "exact_location": item.media_url,
        "entity": item.entity,
        "tier": item.tier.map(Tier::number),
        "grounds": item.grounds.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "reasons": item.reason,
        "evidence": {
            "captured_at": time(item.captured_at),
            "content_type": item.content_type,
            "md5": item.md5,
            "sha256": item.sha256,
            "pdq": item.pdq,
            "matched_bank_item": item.content_id.map(|c| c.0),
            "matched_bank": item.bank_name,
        },
        "reupload_of_item": item.reupload_of.map(|i| i.0),
        "state": item.state.as_str(),
        "checks": detail.checks.iter().map(check_json).collect::<Vec<_>>(),
        "removal": timing_json(&detail.removal),
    })
}

fn text_notice(detail: &ReferralDetail, sender: &SenderInfo, issued: Timestamp) -> String {
    let referral = &detail.referral;
    let organisation = if sender.organisation.is_empty() {
        &detail.org_name
    } else {
        &sender.organisation
    };
    let mut text = String::new();
    let _ = writeln!(text, "Referral {}", referral.reference);
    let _ = writeln!(text, "From: {organisation} <{}>", sender.email);
    let _ = writeln!(
        text,
        "To: {} <{}>",
        detail.provider.name, detail.provider.contact_email
    );
    let _ = writeln!(text, "Date: {}", time(issued));
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "We have assessed the content at the {} below as terrorist content and ask you to \
         remove it or disable access to it. Each entry gives the exact location, our \
         assessment and the evidence we hold. Please quote reference {} in any reply.",
        if detail.items.len() == 1 {
            "URL"
        } else {
            "URLs"
        },
        referral.reference
    );
    if !referral.note.is_empty() {
        let _ = writeln!(text);
        let _ = writeln!(text, "{}", referral.note);
    }
    for (index, item) in detail.items.iter().map(|d| &d.item).enumerate() {
        let _ = writeln!(text);
        let _ = writeln!(text, "{}. URL: {}", index + 1, item.url);
        if let Some(media) = &item.media_url {
            let _ = writeln!(text, "   Exact location: {media}");
        }
        let _ = writeln!(
            text,
            "   Entity: {}   Tier: {}",
            item.entity.as_deref().unwrap_or("unattributed"),
            item.tier.map_or("unassessed", tier_text)
        );
        for ground in &item.grounds {
            let _ = writeln!(text, "   Ground: the material {}", ground_text(*ground));
        }
        if !item.reason.is_empty() {
            let _ = writeln!(text, "   Reasons: {}", item.reason);
        }
        let _ = writeln!(text, "   Evidence: {}", evidence_line(item));
        if let Some(earlier) = item.reupload_of {
            let _ = writeln!(
                text,
                "   Note: a re-upload of content removed after an earlier referral (item {})",
                earlier.0
            );
        }
    }
    let _ = writeln!(text);
    if !sender.contact_point.is_empty() {
        let _ = writeln!(text, "Contact point: {}", sender.contact_point);
    }
    let _ = writeln!(text, "Reference: {}", referral.reference);
    text
}

/// The EU member states, for a statement of reasons' territorial scope.
const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

fn all_grounds(detail: &ReferralDetail) -> Vec<Ground> {
    let mut grounds: Vec<Ground> = detail
        .items
        .iter()
        .flat_map(|item| item.item.grounds.iter().copied())
        .collect();
    grounds.sort();
    grounds.dedup();
    grounds
}

fn removal_order(detail: &ReferralDetail, sender: &SenderInfo, issued: Timestamp) -> Value {
    let referral = &detail.referral;
    let provider = &detail.provider;
    let grounds = all_grounds(detail);
    let tick = |ground: Ground| grounds.contains(&ground);
    json!({
        "document": "Removal order (Article 3 of Regulation (EU) 2021/784), Annex I",
        "section_a": {
            "issuing_member_state": sender.member_state,
            "issuing_authority": if sender.issuing_authority.is_empty() { sender.organisation.clone() } else { sender.issuing_authority.clone() },
            "reference_number": referral.reference,
            "date_and_time_of_issue": time(issued),
            "addressee": {
                "hosting_service_provider": provider.name,
                "legal_representative": provider.legal_representative,
                "member_state_of_main_establishment_or_legal_representative": provider.member_state,
                "point_of_contact": provider.contact_point,
            },
            "deadline": "Remove the terrorist content or disable access to it in all member states as soon as possible and in any event within one hour of receipt of this removal order (Article 3(3)).",
            "preservation": "Preserve the removed content and related data for six months from the removal or disabling (Article 6).",
        },
        "section_b": {
            "content": detail.items.iter().map(|item| json!({
                "url": item.item.url,
                "additional_information": {
                    "exact_location": item.item.media_url,
                    "content_type": item.item.content_type,
                    "evidence": evidence_line(&item.item),
                },
            })).collect::<Vec<_>>(),
        },
        "section_c": {
            "reasons": {
                "incites": tick(Ground::Incites),
                "solicits": tick(Ground::Solicits),
                "solicits_participation": tick(Ground::SolicitsParticipation),
                "instructs": tick(Ground::Instructs),
                "threatens": tick(Ground::Threatens),
            },
            "additional_information": detail.items.iter().map(|item| json!({
                "url": item.item.url,
                "entity": item.item.entity,
                "tier": item.item.tier.map(Tier::number),
                "reasons": item.item.reason,
            })).collect::<Vec<_>>(),
        },
        "section_d": {
            "contact_point": sender.contact_point,
            "email": sender.email,
        },
        "section_e": {
            "information_to_content_provider": "The hosting service provider shall inform the content provider of the removal and of the reasons for it (Article 11), unless the issuing authority decides that no information is to be disclosed.",
            "disclosure_delayed": false,
        },
        "section_f": {
            "redress": sender.redress,
        },
    })
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn removal_order_html(detail: &ReferralDetail, sender: &SenderInfo, issued: Timestamp) -> String {
    let referral = &detail.referral;
    let provider = &detail.provider;
    let grounds = all_grounds(detail);
    let authority = if sender.issuing_authority.is_empty() {
        &sender.organisation
    } else {
        &sender.issuing_authority
    };
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Removal order {reference}</title>
<style>
  body {{ font-family: "DejaVu Serif", Georgia, serif; font-size: 11pt; line-height: 1.4; margin: 2em auto; max-width: 48em; color: #000; }}
  h1 {{ font-size: 15pt; text-align: center; margin-bottom: 0.2em; }}
  p.sub {{ text-align: center; margin-top: 0; }}
  h2 {{ font-size: 12pt; border-bottom: 1px solid #000; margin-top: 1.4em; }}
  table {{ border-collapse: collapse; width: 100%; }}
  th, td {{ border: 1px solid #444; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }}
  th {{ width: 32%; background: #eee; }}
  .url {{ font-family: "DejaVu Sans Mono", monospace; word-break: break-all; font-size: 9.5pt; }}
  .box {{ font-family: "DejaVu Sans", sans-serif; }}
  .sign {{ margin-top: 3em; }}
  @page {{ size: A4; margin: 18mm 16mm; }}
  @media print {{ body {{ margin: 0; max-width: none; }} h2 {{ break-after: avoid; }} tr {{ break-inside: avoid; }} }}
</style>
</head>
<body>
<h1>Removal order</h1>
<p class="sub">Article 3 of Regulation (EU) 2021/784 on addressing the dissemination of terrorist content online (Annex I)</p>
<h2>Section A: issuing authority and addressee</h2>
<table>
<tr><th>Issuing member state</th><td>{member_state}</td></tr>
<tr><th>Issuing competent authority</th><td>{authority}</td></tr>
<tr><th>Reference number</th><td>{reference}</td></tr>
<tr><th>Date and time of issue</th><td>{issued}</td></tr>
<tr><th>Addressee (hosting service provider)</th><td>{provider}</td></tr>
<tr><th>Legal representative</th><td>{representative}</td></tr>
<tr><th>Member state of establishment or representative</th><td>{provider_state}</td></tr>
<tr><th>Point of contact of the addressee</th><td>{provider_contact}</td></tr>
</table>
<p>The addressee shall remove the terrorist content or disable access to it in all member states as soon as possible and in any event <strong>within one hour of receipt</strong> of this removal order (Article 3(3)), and shall <strong>preserve</strong> the removed content and related data for six months (Article 6).</p>
<h2>Section B: content to be removed</h2>
<table>
<tr><th>URL</th><td>Information enabling the identification of the content</td></tr>
"#,
        reference = escape(&referral.reference),
        member_state = escape(&sender.member_state),
        authority = escape(authority),
        issued = escape(&time(issued)),
        provider = escape(&provider.name),
        representative = escape(&provider.legal_representative),
        provider_state = escape(&provider.member_state),
        provider_contact = escape(&provider.contact_point),
    );
    for item in detail.items.iter().map(|d| &d.item) {
        let location = item
            .media_url
            .as_deref()
            .map(|media| {
                format!(
                    "Exact location: <span class=\"url\">{}</span><br>",
                    escape(media)
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<tr><th class=\"url\">{}</th><td>{location}{}</td></tr>",
            escape(&item.url),
            escape(&evidence_line(item))
        );
    }
    let _ = writeln!(html, "</table>");
    let _ = writeln!(html, "<h2>Section C: reasons</h2>");
    let _ = writeln!(
        html,
        "<p>The material is terrorist content as defined in Article 2(7) of Regulation (EU) \
         2021/784 because it:</p>"
    );
    for ground in Ground::ALL {
        let mark = if grounds.contains(ground) {
            "&#9746;"
        } else {
            "&#9744;"
        };
        let _ = writeln!(
            html,
            "<p><span class=\"box\">{mark}</span> {}</p>",
            escape(ground_text(*ground))
        );
    }
    let _ = writeln!(html, "<table>");
    for item in detail.items.iter().map(|d| &d.item) {
        let _ = writeln!(
            html,
            "<tr><th class=\"url\">{}</th><td>Entity: {}; tier: {}{}</td></tr>",
            escape(&item.url),
            escape(item.entity.as_deref().unwrap_or("unattributed")),
            escape(item.tier.map_or("unassessed", tier_text)),
            if item.reason.is_empty() {
                String::new()
            } else {
                format!("; {}", escape(&item.reason))
            }
        );
    }
    let _ = writeln!(html, "</table>");
    let _ = write!(
        html,
        r#"<h2>Section D: contact details</h2>
<p>{contact}<br>{email}</p>
<h2>Section E: information to the content provider</h2>
<p>The hosting service provider shall inform the content provider of the removal and of the reasons for it (Article 11). Disclosure is not delayed.</p>
<h2>Section F: redress</h2>
<p>{redress}</p>
<p class="sign">Date, time and signature: ____________________________</p>
</body>
</html>
"#,
        contact = escape(&sender.contact_point),
        email = escape(&sender.email),
        redress = escape(&sender.redress),
    );
    html
}

fn dsa_content_type(content_type: Option<&str>) -> &'static str {
    let essence = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence.starts_with("image/") {
        "CONTENT_TYPE_IMAGE"
    } else if essence.starts_with("video/") {
        "CONTENT_TYPE_VIDEO"
    } else if essence.starts_with("audio/") {
        "CONTENT_TYPE_AUDIO"
    } else if essence.starts_with("text/") {
        "CONTENT_TYPE_TEXT"
    } else {
        "CONTENT_TYPE_OTHER"
    }
}

fn statements_of_reasons(detail: &ReferralDetail, sender: &SenderInfo, issued: Timestamp) -> Value {
    let organisation = if sender.organisation.is_empty() {
        detail.org_name.clone()
    } else {
        sender.organisation.clone()
    };
    let statements: Vec<Value> = detail
        .items
        .iter()
        .enumerate()
        .map(|(index, item_detail)| {
            let item = &item_detail.item;
            let grounds: Vec<&str> = item.grounds.iter().map(|g| ground_text(*g)).collect();
            let applied = item_detail
                .removal
                .map_or(issued, |timing| timing.first_seen_gone);
            let facts = format!(
                "Referred by {organisation} under reference {} as terrorist content{}{}. \
                 The material {}. Evidence: {}.",
                detail.referral.reference,
                item.entity
                    .as_deref()
                    .map(|entity| format!(" attributed to {entity}"))
                    .unwrap_or_default(),
                item.tier
                    .map(|tier| format!(", tier {}", tier_text(tier)))
                    .unwrap_or_default(),
                if grounds.is_empty() {
                    "was assessed as terrorist content".to_string()
                } else {
                    grounds.join("; and ")
                },
                evidence_line(item)
            );
            json!({
                "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
                "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
                "illegal_content_legal_ground": "Regulation (EU) 2021/784 on addressing the dissemination of terrorist content online, Article 2(7)",
                "illegal_content_explanation": format!("Terrorist content: the material {}.", if grounds.is_empty() { "meets Article 2(7)".to_string() } else { grounds.join("; and ") }),
                "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
                "category_specification": ["KEYWORD_TERRORIST_CONTENT"],
                "content_type": [dsa_content_type(item.content_type.as_deref())],
                "content_date": date(item.captured_at),
                "application_date": date(applied),
                "territorial_scope": EU_MEMBER_STATES,
                "source_type": "SOURCE_TRUSTED_FLAGGER",
                "source_identity": organisation,
                "automated_detection": if item.content_id.is_some() { "Yes" } else { "No" },
                "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
                "decision_facts": facts,
                "puid": format!("{}-{}", detail.referral.reference, index + 1),
                "url": item.url,
            })
        })
        .collect();
    json!({ "statements": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name() {
        for format in ExportFormat::ALL {
            assert_eq!(format.as_str().parse::<ExportFormat>().unwrap(), format);
        }
        assert!("pdf".parse::<ExportFormat>().is_err());
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(dsa_content_type(Some("image/png")), "CONTENT_TYPE_IMAGE");
        assert_eq!(dsa_content_type(None), "CONTENT_TYPE_OTHER");
    }
}
