//! Organisations, users, tokens and the audit log.

use takedown_model::{
    ApiToken, AuditEntry, OrgId, Organisation, Permission, Role, Timestamp, TokenId, User,
};
use takedown_store::{AuditQuery, AuditVerification, NewToken, NewUser};

use crate::{Caller, Engine, EngineError, EngineResult};

/// A token just created: its record and its secret, which is shown this once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    /// The stored record.
    pub token: ApiToken,
    /// The secret to put in `Authorization: Bearer ...`.
    pub secret: String,
}

impl Engine {
    /// Creates an organisation. Only the instance administrator (the command line) may.
    pub async fn create_organisation(
        &self,
        caller: &Caller,
        name: &str,
    ) -> EngineResult<Organisation> {
        self.require_instance(caller)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(EngineError::invalid(
                "name",
                "an organisation name is 1-200 printable characters",
            ));
        }
        Ok(self.store.create_organisation(&caller.actor, name).await?)
    }

    /// Organisations the caller may see: all for the instance, its own otherwise.
    pub async fn organisations(&self, caller: &Caller) -> EngineResult<Vec<Organisation>> {
        caller.require(Permission::ReadBanks)?;
        match caller.org {
            None => Ok(self.store.list_organisations().await?),
            Some(org) => Ok(vec![self.store.organisation(org).await?]),
        }
    }

    /// An organisation by name (any caller may resolve a name, e.g. to share a bank with it).
    pub async fn organisation_by_name(&self, name: &str) -> EngineResult<Organisation> {
        Ok(self.store.organisation_by_name(name).await?)
    }

    /// Creates a user in an organisation.
    pub async fn create_user(
        &self,
        caller: &Caller,
        org: Option<OrgId>,
        name: &str,
        role: Role,
    ) -> EngineResult<User> {
        caller.require(Permission::Administer)?;
        let org = caller.owning_org(org)?;
        Ok(self
            .store
            .create_user(
                &caller.actor,
                NewUser {
                    org,
                    name: name.trim().to_string(),
                    role,
                },
            )
            .await?)
    }

    /// Creates an API token for an organisation; the secret is returned once.
    pub async fn create_token(
        &self,
        caller: &Caller,
        org: Option<OrgId>,
        role: Role,
        name: &str,
        expires_at: Option<Timestamp>,
    ) -> EngineResult<CreatedToken> {
        caller.require(Permission::Administer)?;
        let org = caller.owning_org(org)?;
        let secret = takedown_store::generate_token_secret();
        let token = self
            .store
            .create_token(
                &caller.actor,
                NewToken {
                    org,
                    user: None,
                    role,
                    name: name.trim().to_string(),
                    secret_hash: takedown_store::hash_token_secret(&secret),
                    expires_at,
                },
            )
            .await?;
        Ok(CreatedToken { token, secret })
    }

    /// Stores a token with a secret chosen by the caller (the demo's well-known tokens).
    pub(crate) async fn create_token_with_secret(
        &self,
        caller: &Caller,
        org: OrgId,
        role: Role,
        name: &str,
        secret: &str,
    ) -> EngineResult<ApiToken> {
        Ok(self
            .store
            .create_token(
                &caller.actor,
                NewToken {
                    org,
                    user: None,
                    role,
                    name: name.to_string(),
                    secret_hash: takedown_store::hash_token_secret(secret),
                    expires_at: None,
                },
            )
            .await?)
    }

    /// Tokens of the caller's organisation (or of `org` for the instance), newest first.
    pub async fn tokens(&self, caller: &Caller, org: Option<OrgId>) -> EngineResult<Vec<ApiToken>> {
        caller.require(Permission::Administer)?;
        let org = caller.owning_org(org)?;
        Ok(self.store.list_tokens(org).await?)
    }

    /// Revokes a token of the caller's organisation; it stops working at once on this node.
    pub async fn revoke_token(&self, caller: &Caller, id: TokenId) -> EngineResult<ApiToken> {
        caller.require(Permission::Administer)?;
        let token = self.store.token(id).await?;
        if caller.org.is_some_and(|org| org != token.org) {
            return Err(EngineError::NotFound(format!("token {}", id.0)));
        }
        let token = self.store.revoke_token(&caller.actor, id).await?;
        self.forget_cached_tokens();
        Ok(token)
    }

    /// Audit entries: the caller's organisation's, or all for the instance.
    pub async fn audit_entries(
        &self,
        caller: &Caller,
        after: Option<i64>,
        limit: u32,
    ) -> EngineResult<Vec<AuditEntry>> {
        caller.require(Permission::ReadAudit)?;
        Ok(self
            .store
            .audit_entries(&AuditQuery {
                org: caller.org,
                after,
                limit,
            })
            .await?)
    }

    /// Recomputes the audit chain. Instance administrators only: a broken chain is a security
    /// event for whoever runs the instance.
    pub async fn verify_audit(&self, caller: &Caller) -> EngineResult<AuditVerification> {
        self.require_instance(caller)?;
        Ok(self.store.verify_audit().await?)
    }

    fn require_instance(&self, caller: &Caller) -> EngineResult<()> {
        caller.require(Permission::Administer)?;
        if caller.org.is_some() {
            return Err(EngineError::Forbidden(
                "only the instance administrator (the takedown command line) may do this".into(),
            ));
        }
        Ok(())
    }
}
