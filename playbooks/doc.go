// Package playbooks is warroom's playbook model: the YAML format, its
// loader and validator, and the ${{ }} expression language. The step engine
// that runs playbooks builds on this package; nothing here calls an action.
//
// # Format
//
// A playbook is one YAML file:
//
//	name: contain                   # lower-case, unique in the directory
//	description: Isolate a host in the EDR after a lead approves
//	on:
//	  command: contain              # /contain TARGET [REASON...]
//	  alert: {source: [wazuh], severity: [critical], labels: {team: blue}}
//	inputs:
//	  target: {type: string, required: true, default: "${{ alert.labels?.host }}"}
//	  reason: {type: string, default: "analyst request", description: Why}
//	steps:
//	  - id: approve
//	    approval: {roles: [lead], message: "Isolate ${{ inputs.target }}?", timeout: 30m}
//	  - id: isolate
//	    uses: http.request
//	    with: {method: POST, url: "${{ env.EDR_URL }}/contain", json: {host: "${{ inputs.target }}"}}
//	    retry: {attempts: 3, backoff: 2s}
//	    timeout: 30s
//	  - if: ${{ steps.isolate.outputs.status == 200 }}
//	    uses: chat.post
//	    with: {text: "${{ inputs.target }} is isolated"}
//	on_failure:
//	  - uses: incident.note
//	    with: {text: "containment failed: ${{ error }}"}
//
// Input types are string, int, bool and duration. A step either calls an
// action (uses:, with:, retry:, timeout:, continue_on_error:) or is an
// approval gate (approval: with roles, message, timeout, required,
// escalate {after, roles} and on_timeout deny|approve), never both: an
// approval has its own state and its own line in the progress message, and
// one approval can cover several risky steps. Either kind may have id:,
// name:, if: and outputs:. A step that calls a destructive action must
// come after an approval step without if: in the same list, unless it says
// approval: none. Durations use the configuration's syntax (90s, 15m, 2h,
// 1d).
//
// The loader is strict, because a playbook mistake found during an
// incident costs far more than one found at start: unknown keys, wrong
// types, unknown actions, missing or unknown with: inputs, literal inputs
// of the wrong type, bad durations, duplicate step ids, undeclared inputs,
// env variables not in playbook_env, references to unknown or later steps,
// expressions that do not compile, unapproved destructive actions, and,
// across a directory, duplicate names and command words are all errors.
// Every problem is reported at once as a [Diagnostic] printed
// "file:line:col: path: message", sorted.
//
// # Expressions
//
// ${{ }} holds an expression in the language of github.com/expr-lang/expr,
// used both for if: and for interpolation in any string value. A string
// that is exactly one ${{ }} (spaces aside) gives the expression's value
// with its type, so `port: ${{ inputs.port }}` is a number; anything else
// renders to a string, with lists and maps as compact JSON and nothing as
// "". An if: may also be written without ${{ }}. "$${{" writes "${{".
//
// Expressions see plain data only:
//
//	inputs.NAME                 the run's inputs (declared names only)
//	incident.FIELD              the incident the run belongs to
//	alert.FIELD                 the alert that started the run, or empty
//	steps.ID.outputs.NAME       an earlier step's outputs
//	steps.ID.status             pending, running, waiting, succeeded, failed, skipped
//	steps.ID.error              an earlier step's error (see continue_on_error)
//	error                       the failure, in on_failure steps only
//	env.NAME                    variables listed in config playbook_env only
//	result.NAME                 the action's result, in a step's outputs: only
//
// The language is cut down so that evaluation stays cheap whatever the
// data: no methods, no let, no ranges, no repeat or reduce; predicates
// (map, filter, any…) cannot nest and see only their element and
// literals; matches needs a literal pattern; expressions are at most
// MaxExprLen bytes and MaxExprNodes nodes; and no string built by "+",
// join, replace, toJSON or interpolation may exceed MaxRenderedLen. Data
// is never evaluated: a value that contains "${{" is just text.
//
// # Use
//
// At start, [Load] a directory into a [Set] with [Options] naming the
// connector specs and playbook_env. Commands find playbooks with
// [Set.ByName] and [Set.ByCommand], alerts with [Set.MatchAlert], and turn
// words into inputs with [Playbook.SplitArgs] and [Playbook.BindInputs].
// The engine then, for each step, fills an [Env], asks [Step.ShouldRun],
// renders [Step.RenderWith] (or [Step.ApprovalMessage]) and, after the
// call, records [Step.RenderOutputs] for later steps. [Playbook.DryRun]
// does the same walk without calling anything.
package playbooks
