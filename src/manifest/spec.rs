//! What the configuration asks of a manifest: its path inside each plugin, its format
//! (from the extension), which fields it must have and what `name` must equal. The
//! configuration and the `--manifest` flag build a [`Spec`]; the checks read it.

/// How a manifest is written, chosen by its file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yaml`, `.yml`: a YAML mapping (`plugin.yaml`).
    Yaml,
    /// `.md`, `.markdown`: Markdown with YAML front matter between `---` lines
    /// (`SKILL.md`, the Agent Skills rules).
    FrontMatter,
    /// `.json`: a JSON object (`.claude-plugin/plugin.json`, `package.json`).
    Json,
}

/// What an error names when the extension is none of the above.
pub const ACCEPTED_EXTENSIONS: &str =
    ".yaml or .yml (YAML), .md or .markdown (YAML front matter) or .json (JSON)";

impl Format {
    /// The format of a file named `path`, by its extension (ASCII case ignored: editors
    /// on Windows and macOS write `SKILL.MD` as readily as `SKILL.md`).
    pub fn of(path: &str) -> Option<Format> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let (_, ext) = name.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "md" | "markdown" => Some(Format::FrontMatter),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The fields required when the configuration does not say: what each kind of host
    /// needs to register a plugin.
    pub fn default_required(self) -> &'static [Field] {
        match self {
            Format::Yaml => &[Field::Name, Field::Version],
            Format::FrontMatter => &[Field::Name, Field::Description],
            Format::Json => &[Field::Name],
        }
    }

    /// Whether `version` must be semver. Agent Skills leave it free-form.
    pub fn semver_version(self) -> bool {
        !matches!(self, Format::FrontMatter)
    }
}

/// A top-level field a manifest format knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Name,
    Version,
    Description,
}

impl Field {
    pub const ALL: [Field; 3] = [Field::Name, Field::Version, Field::Description];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Version => "version",
            Field::Description => "description",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// What `name` must be (`name:` in the configuration's mapping form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePolicy {
    /// `directory` (the default): equal to the plugin directory's name.
    Directory,
    /// `any`: any value the format accepts.
    Any,
}

impl NamePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            NamePolicy::Directory => "directory",
            NamePolicy::Any => "any",
        }
    }

    pub fn from_name(name: &str) -> Option<NamePolicy> {
        [NamePolicy::Directory, NamePolicy::Any]
            .into_iter()
            .find(|p| p.as_str() == name)
    }
}

/// The manifest every plugin must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Its path inside the plugin directory, `/`-separated and normalized.
    pub file: String,
    pub format: Format,
    /// The fields that must be present, sorted, each once.
    pub require: Vec<Field>,
    pub name: NamePolicy,
}

impl Spec {
    /// The manifest at `file` with its format's defaults, or why `file` cannot be one
    /// (a phrase for "`manifest` {problem}").
    pub fn new(file: &str) -> Result<Spec, String> {
        check_path(file)?;
        let format = Format::of(file)
            .ok_or_else(|| format!("must end in {ACCEPTED_EXTENSIONS}, found {:?}", shown(file)))?;
        Ok(Spec {
            file: file.to_owned(),
            format,
            require: format.default_required().to_vec(),
            name: NamePolicy::Directory,
        })
    }

    /// The default: `plugin.yaml`, `name` and `version` required.
    pub fn plugin_yaml() -> Spec {
        Spec {
            file: "plugin.yaml".to_owned(),
            format: Format::Yaml,
            require: Format::Yaml.default_required().to_vec(),
            name: NamePolicy::Directory,
        }
    }

    pub fn requires(&self, field: Field) -> bool {
        self.require.contains(&field)
    }

    /// The file's own name (its last path component), as messages call it.
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }

    /// Everything about the spec that changes a check's result, as one line (the
    /// cache's settings key: a changed `require` must not hit an old result).
    pub fn key(&self) -> String {
        let require: Vec<&str> = self.require.iter().map(|f| f.as_str()).collect();
        format!(
            "{} require={} name={}",
            self.file,
            require.join(","),
            self.name.as_str()
        )
    }
}

/// The path rules: relative, `/`-separated, normalized, printable. It is joined to
/// each plugin's directory and compared with tree paths literally.
fn check_path(path: &str) -> Result<(), String> {
    let problem = if path.is_empty() {
        "must not be empty"
    } else if path.starts_with('/') {
        "must be relative to the plugin directory (no leading `/`)"
    } else if path.ends_with('/') {
        "must name a file, not a directory (no trailing `/`)"
    } else if path.contains('\\') {
        "must separate path components with `/`, not `\\`"
    } else if path.chars().any(char::is_control) {
        "must not contain control characters"
    } else if path.split('/').any(|c| c == "..") {
        "must not contain a `..` component"
    } else if path.split('/').any(|c| c.is_empty() || c == ".") {
        "must be a normalized path (no `.` or empty components)"
    } else {
        return Ok(());
    };
    Err(format!("{problem}, found {:?}", shown(path)))
}

/// A configured value as messages show it: at most 60 characters.
fn shown(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of("plugin.yaml"), Some(Format::Yaml));
        assert_eq!(Format::of("a/b.YML"), Some(Format::Yaml));
        assert_eq!(Format::of("SKILL.md"), Some(Format::FrontMatter));
        assert_eq!(Format::of("README.markdown"), Some(Format::FrontMatter));
        assert_eq!(Format::of(".claude-plugin/plugin.json"), Some(Format::Json));
        assert_eq!(Format::of("plugin.toml"), None);
        assert_eq!(Format::of("yaml"), None);
        assert_eq!(Format::of("x.d/plugin"), None);
    }

    #[test]
    fn defaults_per_format() {
        let s = Spec::new("SKILL.md").unwrap();
        assert_eq!(s.require, [Field::Name, Field::Description]);
        assert_eq!(s.name, NamePolicy::Directory);
        assert_eq!(
            Spec::new(".claude-plugin/plugin.json").unwrap().require,
            [Field::Name]
        );
        assert_eq!(Spec::new("plugin.yaml").unwrap(), Spec::plugin_yaml());
        assert_eq!(
            Spec::new(".claude-plugin/plugin.json").unwrap().file_name(),
            "plugin.json"
        );
    }

    #[test]
    fn bad_paths() {
        for (path, says) in [
            ("", "must not be empty"),
            ("/plugin.yaml", "no leading `/`"),
            ("a/", "no trailing `/`"),
            ("a\\plugin.yaml", "not `\\`"),
            ("../plugin.yaml", "`..` component"),
            ("a/../plugin.yaml", "`..` component"),
            ("./plugin.yaml", "normalized"),
            ("a//plugin.yaml", "normalized"),
            ("a\nb.yaml", "control characters"),
            ("plugin.toml", "must end in .yaml or .yml"),
        ] {
            let e = Spec::new(path).unwrap_err();
            assert!(e.contains(says), "{path:?}: {e}");
        }
    }

    #[test]
    fn key_names_every_rule() {
        let mut s = Spec::new("SKILL.md").unwrap();
        assert_eq!(s.key(), "SKILL.md require=name,description name=directory");
        s.require.clear();
        s.name = NamePolicy::Any;
        assert_eq!(s.key(), "SKILL.md require= name=any");
    }
}
