//! The profiles of the shared config and credentials files: a profile named with `--profile` or
//! AWS_PROFILE that no file defines is an error that names the file, where the SDK would only
//! find no credentials.

use std::path::PathBuf;

use anyhow::bail;

/// A profile given by name must be in the config or the credentials file, where the SDK looks.
pub(super) fn check_profile_exists(profile: &str) -> anyhow::Result<()> {
    let files = ProfileFiles::locate();
    let mut known = Vec::new();
    for (path, is_config) in [(&files.config, true), (&files.credentials, false)] {
        let Some(path) = path else { continue };
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for name in profile_names(&text, is_config) {
            if name == profile {
                return Ok(());
            }
            if !known.contains(&name) {
                known.push(name);
            }
        }
    }
    let known = if known.is_empty() {
        String::from("no profiles are defined there")
    } else {
        known.truncate(12);
        format!("profiles there: {}", known.join(", "))
    };
    bail!(
        "profile `{profile}` not found in {} ({known}): check --profile or AWS_PROFILE",
        files.config_shown
    )
}

/// The keys written in the shared config and credentials files (access key ids; secret keys and
/// session tokens), for `--debug` to hide before the SDK loads them: at its info level it logs
/// a profile's access key id as it reads it.
pub(super) fn keys_in_files() -> (Vec<String>, Vec<String>) {
    let files = ProfileFiles::locate();
    let (mut ids, mut secrets) = (Vec::new(), Vec::new());
    for path in [&files.config, &files.credentials].into_iter().flatten() {
        if let Ok(text) = std::fs::read_to_string(path) {
            keys_in_text(&text, &mut ids, &mut secrets);
        }
    }
    (ids, secrets)
}

fn keys_in_text(text: &str, ids: &mut Vec<String>, secrets: &mut Vec<String>) {
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => ids.push(value),
            "aws_secret_access_key" | "aws_session_token" | "aws_security_token" => {
                secrets.push(value)
            }
            _ => {}
        }
    }
}

/// Where the SDK reads profiles from.
struct ProfileFiles {
    config: Option<PathBuf>,
    credentials: Option<PathBuf>,
    /// How a message names the config file.
    config_shown: String,
}

impl ProfileFiles {
    /// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` (a leading `~/` is the home folder),
    /// or `~/.aws/config` and `~/.aws/credentials`.
    fn locate() -> ProfileFiles {
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from);
        let file = |var: &str, default: &str| -> (Option<PathBuf>, String) {
            match std::env::var(var) {
                Ok(p) if !p.is_empty() => {
                    let path = match p.strip_prefix("~/") {
                        Some(rest) => home.as_ref().map(|h| h.join(rest)),
                        None => Some(PathBuf::from(&p)),
                    };
                    (path, p)
                }
                _ => (
                    home.as_ref().map(|h| h.join(default)),
                    format!("~/{default}"),
                ),
            }
        };
        let (config, config_shown) = file("AWS_CONFIG_FILE", ".aws/config");
        let (credentials, _) = file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
        ProfileFiles {
            config,
            credentials,
            config_shown,
        }
    }
}

/// The profiles a file defines: `[default]` and `[profile NAME]` in the config file, `[NAME]` in
/// the credentials file.
fn profile_names(text: &str, is_config: bool) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let inner = line.strip_prefix('[')?;
            let inner = inner[..inner.find(']')?].trim();
            let name = if is_config {
                match inner.strip_prefix("profile") {
                    Some(rest) if rest.starts_with([' ', '\t']) => rest.trim(),
                    _ if inner == "default" => inner,
                    _ => return None,
                }
            } else {
                inner
            };
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_of_the_files_are_found_to_be_hidden() {
        let text = "[default]\naws_access_key_id = AKIA1\n[profile x]\nAWS_SECRET_ACCESS_KEY=s3cr3t \n\
                    aws_session_token = tok\nregion = eu-west-1\n";
        let (mut ids, mut secrets) = (Vec::new(), Vec::new());
        keys_in_text(text, &mut ids, &mut secrets);
        assert_eq!(ids, ["AKIA1"]);
        assert_eq!(secrets, ["s3cr3t", "tok"]);
    }

    #[test]
    fn profile_names_as_the_sdk_reads_them() {
        let config = "[default]\nregion = x\n[profile dev] # team\n[profile  ops ]\n[sso-session s]\n[other]\n";
        assert_eq!(profile_names(config, true), ["default", "dev", "ops"]);
        let credentials = "[default]\n[ci]\naws_access_key_id = A\n";
        assert_eq!(profile_names(credentials, false), ["default", "ci"]);
    }
}
