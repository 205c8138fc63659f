//! The rules built into ctq: `rules/*.yml`, embedded in the binary. `tests` below holds this
//! list to the folder, so a rule file added there and not here fails the build's tests.

macro_rules! builtin {
    ($($file:literal,)*) => {
        /// Each built-in rule's file name and text.
        pub const RULES: &[(&str, &str)] = &[$(($file, include_str!(concat!("../../rules/", $file))),)*];
    };
}

builtin! {
    "ctq_bedrock_invocation_logging_deleted.yml",
    "ctq_bedrock_model_access_enabled.yml",
    "ctq_cloudtrail_logging_stopped.yml",
    "ctq_cloudtrail_management_events_excluded.yml",
    "ctq_cloudtrail_trail_deleted.yml",
    "ctq_cloudtrail_trail_narrowed.yml",
    "ctq_config_recording_stopped.yml",
    "ctq_console_login_failed.yml",
    "ctq_console_login_without_mfa.yml",
    "ctq_ec2_ami_shared.yml",
    "ctq_ec2_ebs_snapshot_shared.yml",
    "ctq_ec2_gpu_instance_launched.yml",
    "ctq_ec2_instance_connect_ssh_key_sent.yml",
    "ctq_ec2_instance_credentials_imdsv1.yml",
    "ctq_ec2_security_group_open_to_internet.yml",
    "ctq_ec2_serial_console_access_enabled.yml",
    "ctq_ec2_serial_console_ssh_key_sent.yml",
    "ctq_ec2_user_data_modified.yml",
    "ctq_ec2_user_data_read.yml",
    "ctq_ec2_windows_password_data_read.yml",
    "ctq_guardduty_detector_disabled.yml",
    "ctq_guardduty_findings_suppressed.yml",
    "ctq_iam_access_key_created_for_user.yml",
    "ctq_iam_administrator_access_attached.yml",
    "ctq_iam_identity_provider_changed.yml",
    "ctq_iam_inline_policy_allows_all_actions.yml",
    "ctq_iam_login_profile_created.yml",
    "ctq_iam_login_profile_updated.yml",
    "ctq_iam_role_trust_policy_aws_principal.yml",
    "ctq_iam_role_trust_policy_public.yml",
    "ctq_iam_root_access_key_created.yml",
    "ctq_iam_user_created.yml",
    "ctq_kms_key_disabled_or_deletion_scheduled.yml",
    "ctq_lambda_function_code_updated.yml",
    "ctq_lambda_function_made_public.yml",
    "ctq_lambda_layer_attached.yml",
    "ctq_lambda_layer_published.yml",
    "ctq_organization_left.yml",
    "ctq_rds_snapshot_shared.yml",
    "ctq_rolesanywhere_profile_created.yml",
    "ctq_rolesanywhere_trust_anchor_created.yml",
    "ctq_root_console_login.yml",
    "ctq_route53_resolver_query_logging_deleted.yml",
    "ctq_secretsmanager_batch_secret_read.yml",
    "ctq_secretsmanager_secret_value_read.yml",
    "ctq_securityhub_disabled.yml",
    "ctq_ssm_parameter_read_with_decryption.yml",
    "ctq_ssm_send_command_shell.yml",
    "ctq_ssm_session_started.yml",
    "ctq_sts_federation_token_issued.yml",
    "ctq_vpc_flow_logs_deleted.yml",
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_file_is_built_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let listed: Vec<&str> = super::RULES.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            listed, files,
            "src/sigma/builtin.rs lists rules/*.yml, sorted"
        );
    }
}
