//! The inventory model: agents, identities, credentials (metadata only), resources, tools and
//! grants, with the closed vocabularies of estate/v1.

use std::fmt;

use crate::time::Timestamp;

/// Defines a closed vocabulary: an enum whose variants are written as fixed lower-case words.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word estate/v1 uses for this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// Reads the word estate/v1 uses; `None` for anything outside the vocabulary.
            pub fn parse(word: &str) -> Option<Self> {
                match word { $($word => Some($name::$variant),)+ _ => None }
            }

            /// The allowed words, comma separated, for error messages.
            pub fn expected() -> String {
                [$($word),+].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary!(
    /// What kind of principal an identity is.
    IdentityKind {
        Spiffe => "spiffe",
        OidcClient => "oidc_client",
        CloudRole => "cloud_role",
        K8sServiceAccount => "k8s_service_account",
        VaultRole => "vault_role",
        ApiKeyPrincipal => "api_key_principal",
        ServiceAccount => "service_account",
        Human => "human",
    }
);

vocabulary!(
    /// What kind of secret a credential is (Bridle stores its metadata, never its value).
    CredentialKind {
        Token => "token",
        ApiKey => "api_key",
        X509Svid => "x509_svid",
        Password => "password",
        SshKey => "ssh_key",
        OauthClientSecret => "oauth_client_secret",
        Other => "other",
    }
);

vocabulary!(
    /// What kind of thing a resource is.
    ResourceKind {
        Database => "database",
        Api => "api",
        Filesystem => "filesystem",
        Ticketing => "ticketing",
        CodeRepo => "code_repo",
        CloudApi => "cloud_api",
        SecretStore => "secret_store",
        MessageChannel => "message_channel",
        Pipeline => "pipeline",
        Other => "other",
    }
);

vocabulary!(
    /// How sensitive a resource's data is, from least to most (the order is meaningful).
    Sensitivity {
        Public => "public",
        Internal => "internal",
        Confidential => "confidential",
        Restricted => "restricted",
    }
);

vocabulary!(
    /// How much an agent acts without a human in the loop.
    Autonomy {
        Assistive => "assistive",
        Supervised => "supervised",
        Autonomous => "autonomous",
    }
);

vocabulary!(
    /// A grant action. Declared in ascending alphabetical order, so the bit order of
    /// [`ActionSet`] is the sorted order that listings use.
    Action {
        Admin => "admin",
        Assume => "assume",
        Delegate => "delegate",
        Impersonate => "impersonate",
        Invoke => "invoke",
        Read => "read",
        Write => "write",
    }
);

/// The type of an entity: the one namespace of ids is shared by all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityKind {
    Agent,
    Identity,
    Credential,
    Resource,
    Tool,
    Grant,
}

impl EntityKind {
    pub const ALL: [EntityKind; 6] = [
        EntityKind::Agent,
        EntityKind::Identity,
        EntityKind::Credential,
        EntityKind::Resource,
        EntityKind::Tool,
        EntityKind::Grant,
    ];

    /// The singular word (`agent`), as `reach --json` lists kinds.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Agent => "agent",
            EntityKind::Identity => "identity",
            EntityKind::Credential => "credential",
            EntityKind::Resource => "resource",
            EntityKind::Tool => "tool",
            EntityKind::Grant => "grant",
        }
    }

    /// The plural word (`agents`), the estate/v1 array that holds this kind.
    pub fn plural(self) -> &'static str {
        match self {
            EntityKind::Agent => "agents",
            EntityKind::Identity => "identities",
            EntityKind::Credential => "credentials",
            EntityKind::Resource => "resources",
            EntityKind::Tool => "tools",
            EntityKind::Grant => "grants",
        }
    }

    /// Reads either the singular or the plural word.
    pub fn parse(word: &str) -> Option<Self> {
        EntityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == word || k.plural() == word)
    }

    /// The actions that mean something when a grant targets an entity of this kind; other
    /// actions are kept but create no edge (ESTATE-FORMAT.md, "Vocabularies").
    pub fn meaningful_actions(self) -> ActionSet {
        match self {
            EntityKind::Identity => ActionSet::from_iter([Action::Assume, Action::Impersonate]),
            EntityKind::Agent => ActionSet::from_iter([Action::Delegate]),
            EntityKind::Tool => ActionSet::from_iter([Action::Invoke]),
            EntityKind::Resource => {
                ActionSet::from_iter([Action::Read, Action::Write, Action::Admin])
            }
            EntityKind::Credential | EntityKind::Grant => ActionSet::EMPTY,
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Action`]s as a bit set; iterates in ascending alphabetical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct ActionSet(u8);

impl ActionSet {
    pub const EMPTY: ActionSet = ActionSet(0);

    fn bit(action: Action) -> u8 {
        1 << (action as u8)
    }

    pub fn insert(&mut self, action: Action) {
        self.0 |= Self::bit(action);
    }

    pub fn contains(self, action: Action) -> bool {
        self.0 & Self::bit(action) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn union(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 | other.0)
    }

    pub fn intersection(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 & other.0)
    }

    pub fn difference(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 & !other.0)
    }

    pub fn is_subset(self, other: ActionSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The raw bits, for compact storage.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Rebuilds a set from [`ActionSet::bits`], ignoring unknown bits.
    pub fn from_bits(bits: u8) -> ActionSet {
        ActionSet(bits & ((1 << Action::ALL.len()) - 1))
    }

    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::ALL
            .iter()
            .copied()
            .filter(move |a| self.contains(*a))
    }

    /// The actions as sorted words.
    pub fn words(self) -> Vec<&'static str> {
        self.iter().map(Action::as_str).collect()
    }
}

impl FromIterator<Action> for ActionSet {
    fn from_iter<I: IntoIterator<Item = Action>>(iter: I) -> Self {
        let mut set = ActionSet::EMPTY;
        for action in iter {
            set.insert(action);
        }
        set
    }
}

impl fmt::Display for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words().join(","))
    }
}

/// An AI agent, workflow or service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub name: String,
    /// `None` when the agent has no known owner (orphaned).
    pub owner: Option<String>,
    /// `prod`, `staging`, `dev` or any lower-case word; `None` when unknown.
    pub environment: Option<String>,
    pub autonomy: Autonomy,
    /// The identities the agent runs as; empty when it has none of its own.
    pub runs_as: Vec<String>,
}

/// A workload identity (or a human) that agents and tools act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub kind: IdentityKind,
    pub name: String,
    pub owner: Option<String>,
    pub provider: Option<String>,
}

/// Metadata of something that lets its holder act as an identity. Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub identity: String,
    pub kind: CredentialKind,
    pub issued_at: Option<Timestamp>,
    /// `None`: never expires.
    pub expires_at: Option<Timestamp>,
    pub last_rotated: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub fingerprint: Option<String>,
}

impl Credential {
    /// Expired when `expires_at` is at or before the evaluation time.
    pub fn is_expired_at(&self, at: Timestamp) -> bool {
        self.expires_at.is_some_and(|expiry| expiry <= at)
    }
}

/// Something that can be read or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub id: String,
    pub kind: ResourceKind,
    pub name: String,
    pub sensitivity: Sensitivity,
    pub crown_jewel: bool,
    pub environment: Option<String>,
    /// Credentials readable by whoever reads (or administers) this resource.
    pub holds_credentials: Vec<String>,
    /// Identities that code in this resource runs as (reached by writing to it).
    pub runs_as: Vec<String>,
}

/// One resource a tool acts on, with the actions it performs there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolAction {
    pub resource: String,
    pub actions: ActionSet,
}

/// A capability an agent can call, often an MCP tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub id: String,
    pub name: String,
    pub server: Option<String>,
    /// The tool's own identity; `None` when it acts only through `acts_on`.
    pub runs_as: Option<String>,
    pub acts_on: Vec<ToolAction>,
}

/// Subject → target with actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The id given in the file, or the derived `g:…` id (see [`crate::estate::derived_grant_id`]).
    pub id: String,
    pub subject: String,
    pub target: String,
    pub actions: ActionSet,
    pub standing: bool,
    /// `None`: never expires.
    pub expires_at: Option<Timestamp>,
    pub conditions: Option<String>,
    /// Where the grant was found (a policy, a file…), as the estate states it.
    pub source: Option<String>,
}

impl Grant {
    /// Expired when `expires_at` is at or before the evaluation time; an expired grant is not an
    /// edge of the privilege graph.
    pub fn is_expired_at(&self, at: Timestamp) -> bool {
        self.expires_at.is_some_and(|expiry| expiry <= at)
    }
}

/// A whole inventory: the content of one estate/v1 document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Estate {
    pub agents: Vec<Agent>,
    pub identities: Vec<Identity>,
    pub credentials: Vec<Credential>,
    pub resources: Vec<Resource>,
    pub tools: Vec<Tool>,
    pub grants: Vec<Grant>,
}

/// How many entities of each kind an estate (or snapshot) holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub agents: u64,
    pub identities: u64,
    pub credentials: u64,
    pub resources: u64,
    pub tools: u64,
    pub grants: u64,
}

impl Counts {
    pub fn get(&self, kind: EntityKind) -> u64 {
        match kind {
            EntityKind::Agent => self.agents,
            EntityKind::Identity => self.identities,
            EntityKind::Credential => self.credentials,
            EntityKind::Resource => self.resources,
            EntityKind::Tool => self.tools,
            EntityKind::Grant => self.grants,
        }
    }
}

impl Estate {
    pub fn counts(&self) -> Counts {
        Counts {
            agents: self.agents.len() as u64,
            identities: self.identities.len() as u64,
            credentials: self.credentials.len() as u64,
            resources: self.resources.len() as u64,
            tools: self.tools.len() as u64,
            grants: self.grants.len() as u64,
        }
    }

    /// Sorts every list by id: the canonical order of exports and hashes.
    pub fn sort(&mut self) {
        self.agents.sort_by(|a, b| a.id.cmp(&b.id));
        self.identities.sort_by(|a, b| a.id.cmp(&b.id));
        self.credentials.sort_by(|a, b| a.id.cmp(&b.id));
        self.resources.sort_by(|a, b| a.id.cmp(&b.id));
        self.tools.sort_by(|a, b| a.id.cmp(&b.id));
        self.grants.sort_by(|a, b| a.id.cmp(&b.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_sets_iterate_in_sorted_word_order() {
        let set =
            ActionSet::from_iter([Action::Write, Action::Admin, Action::Read, Action::Assume]);
        let words = set.words();
        let mut sorted = words.clone();
        sorted.sort();
        assert_eq!(words, sorted);
        assert_eq!(set.to_string(), "admin,assume,read,write");
        assert_eq!(ActionSet::from_bits(set.bits()), set);
    }

    #[test]
    fn vocabularies_round_trip_their_words() {
        for kind in IdentityKind::ALL {
            assert_eq!(IdentityKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(ResourceKind::ALL.len(), 10);
        assert_eq!(CredentialKind::ALL.len(), 7);
        assert_eq!(IdentityKind::ALL.len(), 8);
        assert!(Sensitivity::Restricted > Sensitivity::Confidential);
        assert_eq!(Action::parse("execute"), None);
    }
}
