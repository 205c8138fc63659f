//! The rules built into ctq: `rules/*.yml`, embedded in the binary. `tests` below holds this
//! list to the folder, so a rule file added there and not here fails the build's tests.

macro_rules! builtin {
    ($($file:literal,)*) => {
        /// Each built-in rule's file name and text.
        pub const RULES: &[(&str, &str)] = &[$(($file, include_str!(concat!("../../rules/", $file))),)*];
    };
}

builtin! {}

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
