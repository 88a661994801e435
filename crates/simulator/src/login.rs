//! Who logs in: the world's login users, derived from the seeded accounts without changing
//! them. A Facebook login user owns Pages (each with its Instagram professional account)
//! and, for the first user, one Page without an Instagram account; an Instagram login user
//! is the Instagram professional account itself.
//!
//! The seeded tokens of each account stay what they are (a per-account user that connected
//! earlier); the login users are the people who run the login flows, and the tokens the
//! flows mint work for exactly the accounts their user owns.

use serde::{Deserialize, Serialize};

use crate::hash::{self, h, hs};
use crate::world::{LoginKind, World, user_salt};

/// How many Instagram accounts the first Facebook login user owns at most.
const FIRST_USER_ACCOUNTS: usize = 3;

/// A Facebook login user.
#[derive(Debug, Clone)]
pub(crate) struct FbLoginUser {
    pub(crate) id: String,
    pub(crate) name: String,
    /// Indexes of the accounts behind the user's Pages, in Page order.
    pub(crate) accounts: Vec<usize>,
    pub(crate) bare_page: Option<BarePage>,
}

/// A Page without an Instagram account.
#[derive(Debug, Clone)]
pub(crate) struct BarePage {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) token: String,
}

/// The login users of the world.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoginUsers {
    pub(crate) facebook: Vec<FbLoginUser>,
    /// Accounts connected with Instagram Login (each is its own login user).
    pub(crate) instagram: Vec<usize>,
}

impl LoginUsers {
    /// Derives the login users: the first Facebook Login user owns the first three Facebook
    /// Login accounts plus a Page without Instagram; every other Facebook Login account has
    /// a user of its own.
    pub(crate) fn generate(world: &World) -> LoginUsers {
        let salt = user_salt(world.seed);
        let fb: Vec<usize> = world
            .accounts
            .iter()
            .filter(|a| a.login == LoginKind::Facebook)
            .map(|a| a.idx)
            .collect();
        let mut facebook = Vec::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        if !fb.is_empty() {
            let first = fb.len().min(FIRST_USER_ACCOUNTS);
            groups.push(fb[..first].to_vec());
            groups.extend(fb[first..].iter().map(|a| vec![*a]));
        }
        for (u, accounts) in groups.into_iter().enumerate() {
            let id = (10_170_000_000_000_000u64 + salt * 100_000 + u as u64).to_string();
            let name = login_user_name(world.seed, u);
            let bare_page = (u == 0).then(|| BarePage {
                id: (110_000_000_000_000u64 + salt * 100_000 + u as u64).to_string(),
                name: format!("{name} (personal page)"),
                token: format!(
                    "EAAP{}",
                    hash::encode(
                        h(&[world.seed, hs("bare-page-token"), u as u64]),
                        hash::ALNUM,
                        140
                    )
                ),
            });
            facebook.push(FbLoginUser {
                id,
                name,
                accounts,
                bare_page,
            });
        }
        let instagram = world
            .accounts
            .iter()
            .filter(|a| a.login == LoginKind::Instagram)
            .map(|a| a.idx)
            .collect();
        LoginUsers {
            facebook,
            instagram,
        }
    }

    /// Whether Facebook login user `u` owns account `acct`.
    pub(crate) fn owns(&self, u: usize, acct: usize) -> bool {
        self.facebook
            .get(u)
            .is_some_and(|user| user.accounts.contains(&acct))
    }

    /// The public view of every login user.
    pub(crate) fn public(&self, world: &World) -> Vec<LoginUser> {
        let mut out: Vec<LoginUser> = self
            .facebook
            .iter()
            .map(|u| {
                let mut pages: Vec<LoginPage> = u
                    .accounts
                    .iter()
                    .map(|a| {
                        let acct = &world.accounts[*a];
                        LoginPage {
                            id: acct.page_id.clone(),
                            name: acct.page_name.clone(),
                            ig_user_id: Some(acct.ig_user_id.clone()),
                        }
                    })
                    .collect();
                if let Some(p) = &u.bare_page {
                    pages.push(LoginPage {
                        id: p.id.clone(),
                        name: p.name.clone(),
                        ig_user_id: None,
                    });
                }
                LoginUser {
                    login: LoginKind::Facebook,
                    id: u.id.clone(),
                    name: u.name.clone(),
                    ig_user_ids: u
                        .accounts
                        .iter()
                        .map(|a| world.accounts[*a].ig_user_id.clone())
                        .collect(),
                    pages,
                }
            })
            .collect();
        out.extend(self.instagram.iter().map(|a| {
            let acct = &world.accounts[*a];
            LoginUser {
                login: LoginKind::Instagram,
                id: acct.app_scoped_id.clone(),
                name: acct.username.clone(),
                ig_user_ids: vec![acct.ig_user_id.clone()],
                pages: Vec::new(),
            }
        }));
        out
    }
}

const FIRST_NAMES: [&str; 8] = [
    "Alex", "Maria", "Sam", "Noor", "Jonas", "Priya", "Lea", "Tomás",
];
const LAST_NAMES: [&str; 8] = [
    "Rivera",
    "Okafor",
    "Lindqvist",
    "Haddad",
    "Kowalski",
    "Tanaka",
    "Moreau",
    "Silva",
];

fn login_user_name(seed: u64, u: usize) -> String {
    let k = h(&[seed, hs("login-user"), u as u64]);
    format!(
        "{} {}",
        FIRST_NAMES[(k % 8) as usize],
        LAST_NAMES[((k >> 8) % 8) as usize]
    )
}

/// A person who can run a login flow, as scripts and tests see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginUser {
    /// Which login product the user logs in with.
    pub login: LoginKind,
    /// The Facebook user id (Facebook Login) or the app-scoped Instagram id (Instagram
    /// Login); pass it as `sim_user` to pick the user in a dialog.
    pub id: String,
    /// Display name (the username for Instagram Login).
    pub name: String,
    /// The Instagram professional accounts the user's tokens can read.
    pub ig_user_ids: Vec<String>,
    /// The user's Facebook Pages (Facebook Login), with or without an Instagram account.
    pub pages: Vec<LoginPage>,
}

/// One Facebook Page of a login user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginPage {
    /// Page id.
    pub id: String,
    /// Page name.
    pub name: String,
    /// The connected Instagram professional account, if any.
    pub ig_user_id: Option<String>,
}

/// An authorization code issued by a login dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthCode {
    pub(crate) login: LoginKind,
    /// Facebook login user index (Facebook Login) or account index (Instagram Login).
    pub(crate) who: usize,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) granted: Vec<String>,
    pub(crate) declined: Vec<String>,
    pub(crate) expires_at: i64,
    pub(crate) used: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    #[test]
    fn the_first_facebook_user_owns_three_accounts_and_a_bare_page() {
        let w = World::generate(&SimConfig::new(3, 12, 5));
        let l = LoginUsers::generate(&w);
        let fb_accounts = w
            .accounts
            .iter()
            .filter(|a| a.login == LoginKind::Facebook)
            .count();
        assert!(fb_accounts >= 3);
        assert_eq!(l.facebook[0].accounts.len(), 3);
        assert!(l.facebook[0].bare_page.is_some());
        assert_eq!(l.facebook.len(), fb_accounts - 2);
        assert!(l.facebook[1..].iter().all(|u| u.accounts.len() == 1));
        assert!(l.facebook[1..].iter().all(|u| u.bare_page.is_none()));
        assert_eq!(l.instagram.len(), 12 - fb_accounts);
        let first = l.facebook[0].accounts[0];
        assert!(l.owns(0, first));
        let public = l.public(&w);
        assert_eq!(public[0].pages.len(), 4);
        assert_eq!(public[0].pages[3].ig_user_id, None);
    }
}
