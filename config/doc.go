// Package config loads warroom's single YAML configuration file.
//
// The file is the contract between operators and the bot, so the loader is
// deliberately strict: an unknown key or a bad value is an error rather than
// something silently ignored, because during an incident nobody has time to
// discover that a misspelt approval setting was never in effect. Every
// problem in the file is reported in one go, each as "FILE:LINE: path:
// message" sorted by line, so a broken file can be fixed in a single edit
// cycle.
//
// Values may reference the environment as ${VAR} or ${VAR:-default}, and $$
// stands for a literal dollar sign. Substitution happens on scalar values
// after the YAML has been parsed, so a variable can never inject YAML
// structure, whatever it contains. A variable that is unset and has no
// default expands to nothing; its name (never its value) is remembered so the
// server can warn about it (see [Config.UnsetVars]). An empty value, whether
// written as such or produced by an unset variable, leaves the built-in
// default in place.
//
// Mapping keys are taken literally. At the top level, keys that start with
// "x-" are ignored, which gives YAML anchors a home without tripping the
// unknown-key check, as in Docker Compose files.
//
// Tokens, passwords and keys are held as [Secret] values, which refuse to
// print themselves, so a config dumped into a log or a debug page does not
// leak credentials.
package config
