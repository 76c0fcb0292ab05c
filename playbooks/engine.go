package playbooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/store"
)

// Run states beyond the step states: a run is queued until the engine
// picks it up, and denied when its approval was refused or timed out.
const (
	runQueued = "queued"
	runDenied = "denied"
)

// Approval button action ids; the button value is the approval's token.
const (
	ActionApprove = "approval.approve"
	ActionDeny    = "approval.deny"
)

// EngineOptions wire an Engine.
type EngineOptions struct {
	Service *bot.Service
	Set     *Set
	// Actions are the connector actions; built-in actions are the engine's own.
	Actions interface {
		Lookup(name string) (connectors.Action, bool)
	}
	// Vars are the values of the variables in config playbook_env.
	Vars map[string]string
	// Allowed reports whether an actor holds a role.
	Allowed func(ctx context.Context, actor, role string) bool
	// Members lists the user ids holding a role, for escalation pings.
	Members func(role string) []string
	// FourEyes refuses approvals from the person who started the run (default on).
	FourEyes *bool
	// ApprovalTimeout applies to approvals without their own (default 1h).
	ApprovalTimeout time.Duration
	// StepTimeout applies to steps without their own (default 30s).
	StepTimeout time.Duration
	// Sleep waits between retries; tests make it instant.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

// Engine runs playbooks. Every run, step and approval transition is
// persisted with its case-log entry and the edit of the run's progress
// message in one transaction, so a restart resumes a run where it was and
// the channel always shows what the database says.
type Engine struct {
	opts EngineOptions
	db   *store.DB
	svc  *bot.Service
	log  *slog.Logger

	mu      sync.Mutex
	driving map[int64]bool
	titles  map[int64]map[string]string // per run: step titles, rendered once
	wg      sync.WaitGroup
}

// NewEngine returns an engine.
func NewEngine(opts EngineOptions) *Engine {
	if opts.ApprovalTimeout <= 0 {
		opts.ApprovalTimeout = time.Hour
	}
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = 30 * time.Second
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Allowed == nil {
		opts.Allowed = func(context.Context, string, string) bool { return false }
	}
	if opts.Members == nil {
		opts.Members = func(string) []string { return nil }
	}
	if opts.Set == nil {
		opts.Set, _ = NewSet()
	}
	return &Engine{opts: opts, db: opts.Service.DB(), svc: opts.Service, log: opts.Logger.With("component", "playbooks"), driving: map[int64]bool{}, titles: map[int64]map[string]string{}}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Set returns the loaded playbooks.
func (e *Engine) Set() *Set { return e.opts.Set }

func (e *Engine) now() time.Time { return e.svc.Clock().Now().UTC() }

func (e *Engine) fourEyes() bool { return e.opts.FourEyes == nil || *e.opts.FourEyes }

// StartRequest asks for a run.
type StartRequest struct {
	Playbook   *Playbook
	IncidentID int64
	Actor      string // who asked; "system" for alert-started runs
	Trigger    string // command, alert, button
	Inputs     map[string]any
	Alert      map[string]any
}

// Start records a run, posts its progress message and starts driving it.
func (e *Engine) Start(ctx context.Context, req StartRequest) (int64, error) {
	pb := req.Playbook
	inputs, _ := json.Marshal(req.Inputs)
	alert, _ := json.Marshal(orEmpty(req.Alert))
	now := e.now()
	run := store.Run{IncidentID: req.IncidentID, Playbook: pb.Name, Digest: pb.Digest, Trigger: req.Trigger,
		StartedBy: req.Actor, Inputs: inputs, Alert: alert, Status: string(StatusRunning), CreatedAt: now, UpdatedAt: now}
	err := e.svc.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
		var err error
		if run.ID, err = tx.CreateRun(ctx, run); err != nil {
			return nil, err
		}
		return []bot.Event{{
			IncidentID: req.IncidentID, Actor: req.Actor, Kind: "run.started",
			Body:  map[string]any{"run": run.ID, "playbook": pb.Name, "trigger": req.Trigger, "inputs": e.env(nil).Redact(req.Inputs)},
			Keyed: []bot.Keyed{{Name: runKey(run.ID), Message: e.progress(pb, run, nil, nil)}},
		}}, nil
	})
	if err != nil {
		// The run's id is not taken: SQLite may hand it to the next run.
		e.forgetTitles(run.ID)
		return 0, fmt.Errorf("start %s: %w", pb.Name, err)
	}
	id := run.ID
	e.log.Info("run started", "run", id, "playbook", pb.Name, "incident", store.FormatRef(req.IncidentID), "actor", req.Actor)
	e.kick(id)
	return id, nil
}

func runKey(id int64) string      { return "run-" + strconv.FormatInt(id, 10) }
func approvalKey(id int64) string { return "approval-" + strconv.FormatInt(id, 10) }

// kick drives a run in the background unless it is already being driven.
func (e *Engine) kick(runID int64) {
	e.mu.Lock()
	if e.driving[runID] {
		e.mu.Unlock()
		return
	}
	e.driving[runID] = true
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			e.mu.Lock()
			delete(e.driving, runID)
			e.mu.Unlock()
		}()
		// Runs outlive the request that started them.
		if err := e.drive(context.Background(), runID); err != nil {
			e.log.Error("run stopped on an internal error", "run", runID, "err", err)
		}
	}()
}

// Wait blocks until no run is being driven (runs waiting for an approval
// are not being driven).
func (e *Engine) Wait() { e.wg.Wait() }

// Resume picks up runs left queued or running by an earlier process, and
// runs whose approval was decided but which did not go on.
func (e *Engine) Resume(ctx context.Context) error {
	runs, err := e.db.Runs(ctx, 0, 0, runQueued, string(StatusRunning))
	if err != nil {
		return err
	}
	for _, r := range runs {
		e.kick(r.ID)
	}
	decided, err := e.db.DecidedWaitingRuns(ctx)
	if err != nil {
		return err
	}
	for _, id := range decided {
		e.kick(id)
	}
	return nil
}

// Run resumes unfinished runs and then checks approval deadlines every
// interval until ctx ends.
func (e *Engine) Run(ctx context.Context, interval time.Duration) {
	if err := e.Resume(ctx); err != nil {
		e.log.Error("resume runs", "err", err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			e.Wait()
			return
		case <-t.C:
			if err := e.Tick(ctx); err != nil {
				e.log.Error("approval deadlines", "err", err)
			}
		}
	}
}

// runState is what drive works from: the run, its playbook and its steps.
type runState struct {
	run   store.Run
	pb    *Playbook
	steps map[string]store.RunStep
	env   Env
}

func (e *Engine) load(ctx context.Context, runID int64) (*runState, error) {
	run, err := e.db.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	st := &runState{run: run}
	if st.steps, err = e.db.RunSteps(ctx, runID); err != nil {
		return nil, err
	}
	st.env = e.env(nil)
	json.Unmarshal(run.Inputs, &st.env.Inputs)
	json.Unmarshal(run.Alert, &st.env.Alert)
	if in, err := e.db.Incident(ctx, run.IncidentID); err == nil {
		st.env.Incident = incidentVars(in)
	}
	st.env.Steps = map[string]StepState{}
	for id, s := range st.steps {
		var out map[string]any
		json.Unmarshal(s.Outputs, &out)
		st.env.Steps[id] = StepState{Status: Status(s.Status), Outputs: out, Error: s.Error}
	}
	pb, ok := e.opts.Set.ByName(run.Playbook)
	if ok && pb.Digest == run.Digest {
		st.pb = pb
	}
	return st, nil
}

func (e *Engine) env(inputs map[string]any) Env { return Env{Inputs: inputs, Vars: e.opts.Vars} }

// incidentVars is what expressions read as incident.*.
func incidentVars(in store.Incident) map[string]any {
	return map[string]any{
		"id": in.ID, "ref": in.Ref(), "title": in.Title, "severity": in.Severity, "status": in.Status,
		"commander": in.Commander, "alert_count": in.AlertCount,
	}
}

// drive advances a run as far as it can go: to its end, or to an approval.
func (e *Engine) drive(ctx context.Context, runID int64) error {
	st, err := e.load(ctx, runID)
	if err != nil {
		return err
	}
	switch st.run.Status {
	case string(StatusSucceeded), string(StatusFailed), runDenied:
		return nil
	}
	if st.pb == nil {
		return e.finish(ctx, st, string(StatusFailed), "the playbook changed or was removed since the run started")
	}
	if st.run.Status == runQueued {
		if err := e.setRun(ctx, st, string(StatusRunning), ""); err != nil {
			return err
		}
	}
	for _, step := range st.pb.Steps {
		rec := st.steps[step.ID]
		switch Status(rec.Status) {
		case StatusSucceeded, StatusSkipped:
			continue
		case StatusFailed:
			if step.ContinueOnError {
				continue
			}
			return e.fail(ctx, st, step, rec.Error)
		case StatusWaiting:
			decided, err := e.approvalOutcome(ctx, st, step)
			if err != nil || !decided {
				return err
			}
			if Status(st.steps[step.ID].Status) != StatusSucceeded {
				return nil // denied: the run is over
			}
			continue
		case StatusRunning:
			// The process stopped while this step ran. Whether it may run
			// again depends on what it was called with (a GET may, a POST
			// may not); without a record of that, only on its action.
			var with map[string]any
			json.Unmarshal(rec.Inputs, &with)
			safe := step.Action.Idempotent
			if len(with) > 0 {
				safe = IsIdempotent(step.Action, with)
			}
			if !safe {
				msg := "outcome unknown: warroom stopped while this step ran, and its action is not safe to repeat"
				if err := e.saveStep(ctx, st, step, StatusFailed, nil, nil, msg, rec.Attempts); err != nil {
					return err
				}
				if step.ContinueOnError {
					continue
				}
				return e.fail(ctx, st, step, msg)
			}
		}
		run, err := step.ShouldRun(st.env)
		if err != nil {
			if err := e.saveStep(ctx, st, step, StatusFailed, nil, nil, e.opts.redact(st.env, err.Error()), 0); err != nil {
				return err
			}
			if step.ContinueOnError {
				continue
			}
			return e.fail(ctx, st, step, err.Error())
		}
		if !run {
			if err := e.saveStep(ctx, st, step, StatusSkipped, nil, nil, "", 0); err != nil {
				return err
			}
			continue
		}
		if step.IsApproval() {
			return e.requestApproval(ctx, st, step)
		}
		if err := e.runStep(ctx, st, step); err != nil {
			if errors.Is(err, errStepFailed) {
				if step.ContinueOnError {
					continue
				}
				return e.fail(ctx, st, step, st.steps[step.ID].Error)
			}
			return err
		}
	}
	return e.finish(ctx, st, string(StatusSucceeded), "")
}

func (o EngineOptions) redact(env Env, s string) string { return env.RedactString(s) }

// errStepFailed says the step failed and its failure is recorded.
var errStepFailed = errors.New("step failed")

// showRunningAfter is how long a safe-to-repeat step runs before the
// progress message shows it as running.
const showRunningAfter = time.Second

// maxOutput bounds what one action may hand to later steps.
const maxOutput = 256 << 10

// runStep calls a step's action with its retries and records the outcome.
func (e *Engine) runStep(ctx context.Context, st *runState, step *Step) error {
	with, err := step.RenderWith(st.env)
	if err != nil {
		msg := st.env.RedactString(err.Error())
		if err := e.saveStep(ctx, st, step, StatusFailed, nil, nil, msg, 0); err != nil {
			return err
		}
		return errStepFailed
	}
	attempts := max(step.Retry.Attempts, 1)
	// A step that is not safe to repeat is recorded as running before its
	// call, so that a crash mid-call is reported as an unknown outcome. A
	// safe one is recorded only if its call takes a while: after a crash it
	// simply runs again, and fast steps cost one write instead of two.
	idempotent := IsIdempotent(step.Action, with)
	var result map[string]any
	var callErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		if !idempotent || attempt > 1 {
			if err := e.saveStep(ctx, st, step, StatusRunning, with, nil, "", attempt); err != nil {
				return err
			}
		}
		if d := step.Retry.Delay(attempt); d > 0 {
			if err := e.opts.Sleep(ctx, d); err != nil {
				return err
			}
		}
		timeout := step.Timeout
		if timeout <= 0 {
			timeout = e.opts.StepTimeout
		}
		// One key for every attempt of a step, across restarts: a retry after
		// a timeout or a crash whose first call did land is exactly what the
		// remote side must recognise as a repeat.
		key := fmt.Sprintf("warroom-run-%d-%s", st.run.ID, step.ID)
		type outcome struct {
			result map[string]any
			err    error
		}
		done := make(chan outcome, 1)
		go func() {
			callCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			r, err := e.call(callCtx, st, step, connectors.Call{With: with, IdempotencyKey: key})
			done <- outcome{r, err}
		}()
		var out outcome
		select {
		case out = <-done:
		case <-time.After(showRunningAfter):
			if idempotent && attempt == 1 {
				if err := e.saveStep(ctx, st, step, StatusRunning, with, nil, "", attempt); err != nil {
					<-done
					return err
				}
			}
			out = <-done
		}
		result, callErr = out.result, out.err
		if callErr == nil {
			break
		}
		e.log.Warn("step attempt failed", "run", st.run.ID, "step", step.ID, "attempt", attempt, "err", st.env.RedactString(callErr.Error()))
	}
	if callErr != nil {
		msg := st.env.RedactString(callErr.Error())
		if err := e.saveStep(ctx, st, step, StatusFailed, with, nil, msg, attempts); err != nil {
			return err
		}
		return errStepFailed
	}
	if b, _ := json.Marshal(result); len(b) > maxOutput {
		result = map[string]any{"truncated": true}
	}
	outputs, err := step.RenderOutputs(st.env, result)
	if err != nil {
		if err := e.saveStep(ctx, st, step, StatusFailed, with, nil, st.env.RedactString(err.Error()), attempts); err != nil {
			return err
		}
		return errStepFailed
	}
	return e.saveStep(ctx, st, step, StatusSucceeded, with, outputs, "", attempts)
}

// call runs a step's action: the engine's own built-ins, or a connector's.
func (e *Engine) call(ctx context.Context, st *runState, step *Step, c connectors.Call) (map[string]any, error) {
	id := st.run.IncidentID
	text, _ := c.With["text"].(string)
	switch step.Uses {
	case "chat.post":
		err := e.svc.Record(ctx, bot.Events(bot.Event{IncidentID: id, Actor: bot.System, Kind: "chat.posted",
			Body: map[string]any{"run": st.run.ID, "text": text}, Posts: []bot.Message{{Text: text}}}))
		return map[string]any{}, err
	case "incident.note":
		_, err := e.svc.Note(ctx, bot.System, id, text)
		return map[string]any{}, err
	case "incident.status":
		status, _ := c.With["status"].(string)
		_, err := e.svc.SetStatus(ctx, bot.System, id, status)
		return map[string]any{}, ignoreSame(err)
	case "incident.severity":
		sev, _ := c.With["severity"].(string)
		_, err := e.svc.SetSeverity(ctx, bot.System, id, sev)
		return map[string]any{}, ignoreSame(err)
	case "incident.assign":
		user, _ := c.With["user"].(string)
		if !strings.Contains(user, ":") {
			return nil, fmt.Errorf("incident.assign: user %q must be an actor id such as slack:U123", user)
		}
		_, err := e.svc.Assign(ctx, bot.System, id, user)
		return map[string]any{}, ignoreSame(err)
	}
	if e.opts.Actions == nil {
		return nil, fmt.Errorf("action %s is not available", step.Uses)
	}
	a, ok := e.opts.Actions.Lookup(step.Uses)
	if !ok {
		return nil, fmt.Errorf("action %s is not available", step.Uses)
	}
	return a.Run(ctx, c)
}

// ignoreSame treats "already in that state" as success: a playbook that
// sets what is already set has done its job.
func ignoreSame(err error) error {
	var ue *bot.UserError
	if errors.As(err, &ue) && strings.Contains(ue.Msg, "already") {
		return nil
	}
	return err
}

// saveStep records a step's state with its case-log entry and the
// progress message's edit.
func (e *Engine) saveStep(ctx context.Context, st *runState, step *Step, status Status, with, outputs map[string]any, errMsg string, attempts int) error {
	now := e.now()
	rec := st.steps[step.ID]
	rec.RunID, rec.Step, rec.Status, rec.Error, rec.Attempts = st.run.ID, step.ID, string(status), errMsg, attempts
	if with != nil {
		rec.Inputs, _ = json.Marshal(maskSensitive(st.env.Redact(with)))
	}
	if outputs != nil {
		rec.Outputs, _ = json.Marshal(outputs)
	}
	if status == StatusRunning && rec.StartedAt.IsZero() {
		rec.StartedAt = now
	}
	if status != StatusRunning && status != StatusWaiting {
		rec.FinishedAt = now
	}
	body := map[string]any{"run": st.run.ID, "playbook": st.pb.Name, "step": step.ID, "status": string(status)}
	if errMsg != "" {
		body["error"] = errMsg
	}
	if attempts > 1 {
		body["attempt"] = attempts
	}
	if link, _ := outputs[step.Action.Link].(string); status == StatusSucceeded && step.Action.Link != "" && link != "" {
		// What the step made (a ticket, a case) is linked from the case log.
		body["link"] = link
	}
	if status == StatusRunning && with != nil {
		body["with"] = maskSensitive(st.env.Redact(with))
	}
	err := e.svc.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
		if st.run.Status != string(StatusRunning) && status != StatusWaiting {
			// Back from an approval (or a restart): the run is running again.
			st.run.Status = string(StatusRunning)
			if err := tx.SetRunStatus(ctx, st.run.ID, st.run.Status, "", now, false); err != nil {
				return nil, err
			}
		}
		return []bot.Event{{IncidentID: st.run.IncidentID, Actor: bot.System, Kind: "step." + string(status), Body: body,
			Keyed: []bot.Keyed{{Name: runKey(st.run.ID), Update: true, Message: e.progress(st.pb, st.run, st.steps, &rec)}}}}, tx.SaveRunStep(ctx, rec)
	})
	if err != nil {
		return err
	}
	st.steps[step.ID] = rec
	ss := StepState{Status: status, Error: errMsg}
	if outputs != nil {
		ss.Outputs = outputs
	}
	st.env.Steps[step.ID] = ss
	return nil
}

func (e *Engine) setRun(ctx context.Context, st *runState, status, errMsg string) error {
	now := e.now()
	final := status == string(StatusSucceeded) || status == string(StatusFailed) || status == runDenied
	st.run.Status, st.run.Error = status, errMsg
	kind := "run." + status
	if final {
		defer e.forgetTitles(st.run.ID)
	}
	return e.svc.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
		return []bot.Event{{IncidentID: st.run.IncidentID, Actor: bot.System, Kind: kind,
			Body:  map[string]any{"run": st.run.ID, "playbook": st.run.Playbook, "error": errMsg},
			Keyed: []bot.Keyed{{Name: runKey(st.run.ID), Update: true, Message: e.progress(st.pb, st.run, st.steps, nil)}}}}, tx.SetRunStatus(ctx, st.run.ID, status, errMsg, now, final)
	})
}

func (e *Engine) finish(ctx context.Context, st *runState, status, errMsg string) error {
	e.log.Info("run finished", "run", st.run.ID, "status", status)
	return e.setRun(ctx, st, status, errMsg)
}

func (e *Engine) forgetTitles(runID int64) {
	e.mu.Lock()
	delete(e.titles, runID)
	e.mu.Unlock()
}

// fail runs the on_failure steps, best effort, then marks the run failed.
func (e *Engine) fail(ctx context.Context, st *runState, failed *Step, errMsg string) error {
	st.env.Error = errMsg
	for _, step := range st.pb.OnFailure {
		if Status(st.steps[step.ID].Status) == StatusSucceeded {
			continue
		}
		if ok, err := step.ShouldRun(st.env); err != nil || !ok {
			continue
		}
		if err := e.runStep(ctx, st, step); err != nil && !errors.Is(err, errStepFailed) {
			return err
		}
	}
	return e.finish(ctx, st, string(StatusFailed), fmt.Sprintf("step %s failed: %s", failed.ID, errMsg))
}

// stepEmoji shows a step's state in the progress message.
var stepEmoji = map[Status]string{
	StatusPending: "▫️", StatusRunning: "⏳", StatusSucceeded: "✅", StatusFailed: "❌", StatusWaiting: "⏸", StatusSkipped: "⏭",
}

// progress renders a run's progress message: one line per step.
func (e *Engine) progress(pb *Playbook, run store.Run, steps map[string]store.RunStep, changed *store.RunStep) bot.Message {
	title := fmt.Sprintf("▶ %s · run %d", run.Playbook, run.ID)
	switch run.Status {
	case string(StatusSucceeded):
		title = fmt.Sprintf("✅ %s · run %d finished", run.Playbook, run.ID)
	case string(StatusFailed):
		title = fmt.Sprintf("❌ %s · run %d failed", run.Playbook, run.ID)
	case runDenied:
		title = fmt.Sprintf("🚫 %s · run %d stopped: not approved", run.Playbook, run.ID)
	}
	m := bot.Message{Title: title, Footer: "started by " + starter(run.StartedBy)}
	if pb == nil {
		m.Text = run.Error
		return m
	}
	titles := e.stepTitles(pb, run)
	for _, list := range [][]*Step{pb.Steps, pb.OnFailure} {
		for _, s := range list {
			rec, ok := steps[s.ID]
			if changed != nil && changed.Step == s.ID {
				rec, ok = *changed, true
			}
			status := StatusPending
			if ok {
				status = Status(rec.Status)
			}
			if s.OnFailure && !ok {
				continue // on_failure steps show only once they run
			}
			f := bot.Field{Label: stepEmoji[status] + " " + titles[s.ID], Value: string(status)}
			if status == StatusWaiting {
				f.Value = "waiting for approval"
			}
			if rec.Error != "" {
				f.Value += ": " + rec.Error
			}
			m.Fields = append(m.Fields, f)
		}
	}
	if run.Error != "" && run.Status != string(StatusRunning) {
		m.Text = run.Error
	}
	return m
}

// stepTitles renders a run's step titles once: they depend only on its
// inputs, and the progress message is redrawn at every transition.
func (e *Engine) stepTitles(pb *Playbook, run store.Run) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.titles[run.ID]; ok && run.ID != 0 {
		return t
	}
	env := e.env(nil)
	json.Unmarshal(run.Inputs, &env.Inputs)
	t := map[string]string{}
	for _, list := range [][]*Step{pb.Steps, pb.OnFailure} {
		for _, s := range list {
			t[s.ID] = env.RedactString(s.Title(env))
		}
	}
	if run.ID != 0 {
		e.titles[run.ID] = t
	}
	return t
}

func starter(actor string) string {
	if actor == bot.System {
		return "an alert"
	}
	_, user := bot.SplitActor(actor)
	return user
}

// requestApproval records an approval request, posts its buttons and parks the run.
func (e *Engine) requestApproval(ctx context.Context, st *runState, step *Step) error {
	a := step.Approval
	msg, err := step.ApprovalMessage(st.env)
	if err != nil {
		msg = "Approve the next step of " + st.pb.Name + "?"
	}
	msg = st.env.RedactString(msg)
	now := e.now()
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = e.opts.ApprovalTimeout
	}
	ap := store.Approval{RunID: st.run.ID, Step: step.ID, Token: newToken(), Roles: slices.Clone(a.Roles),
		Required: max(a.Required, 1), RequestedBy: st.run.StartedBy, Message: msg, Deadline: now.Add(timeout)}
	if a.Escalate != nil {
		ap.EscalateAt = now.Add(a.Escalate.After)
	}
	rec := st.steps[step.ID]
	rec.RunID, rec.Step, rec.Status, rec.StartedAt = st.run.ID, step.ID, string(StatusWaiting), now
	st.run.Status = string(StatusWaiting)
	return e.svc.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
		var err error
		if ap.ID, err = tx.CreateApproval(ctx, ap); err != nil {
			return nil, err
		}
		if err := tx.SaveRunStep(ctx, rec); err != nil {
			return nil, err
		}
		if err := tx.SetRunStatus(ctx, st.run.ID, string(StatusWaiting), "", now, false); err != nil {
			return nil, err
		}
		return []bot.Event{{IncidentID: st.run.IncidentID, Actor: bot.System, Kind: "approval.requested",
			Body: map[string]any{"run": st.run.ID, "step": step.ID, "approval": ap.ID, "roles": a.Roles, "required": ap.Required,
				"message": msg, "deadline": ap.Deadline},
			Keyed: []bot.Keyed{
				{Name: runKey(st.run.ID), Update: true, Message: e.progress(st.pb, st.run, st.steps, &rec)},
				{Name: approvalKey(ap.ID), Message: approvalMessage(st.run, ap, e.members(ap.Roles))},
			}}}, nil
	})
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// members lists the actor ids to ping for roles, on every platform.
func (e *Engine) members(roles []string) []string {
	var out []string
	for _, r := range roles {
		for _, m := range e.opts.Members(r) {
			if strings.Contains(m, ":") {
				out = append(out, m)
				continue
			}
			for _, p := range e.svc.Platforms() {
				out = append(out, bot.ActorID(p, m))
			}
		}
	}
	return out
}

// approvalMessage renders an approval request, or its outcome once decided.
func approvalMessage(run store.Run, a store.Approval, ping []string) bot.Message {
	m := bot.Message{
		Title: "⏸ Approval needed · " + run.Playbook,
		Text:  a.Message,
		Fields: []bot.Field{
			{Label: "Requested by", Value: starter(run.StartedBy)},
			{Label: "Who may approve", Value: strings.Join(a.Roles, ", ")},
			{Label: "Expires", Value: a.Deadline.UTC().Format("2006-01-02 15:04 UTC")},
		},
	}
	if a.Required > 1 {
		m.Fields = append(m.Fields, bot.Field{Label: "Approvals", Value: fmt.Sprintf("%d of %d", len(a.Votes), a.Required)})
	}
	switch a.Decision {
	case "":
		m.Mentions = ping
		m.Buttons = []bot.Button{
			{ID: ActionApprove, Label: "Approve", Value: a.Token, Style: bot.StylePrimary, Confirm: "Approve: " + a.Message},
			{ID: ActionDeny, Label: "Deny", Value: a.Token, Style: bot.StyleDanger, Confirm: "Deny and stop " + run.Playbook + "?"},
		}
	case "approve":
		m.Title = "✅ Approved · " + run.Playbook
		m.Footer = "approved by " + decidedBy(a) + " at " + a.DecidedAt.UTC().Format("15:04:05 UTC")
	default:
		m.Title = "🚫 Denied · " + run.Playbook
		m.Footer = "denied by " + decidedBy(a) + " at " + a.DecidedAt.UTC().Format("15:04:05 UTC")
	}
	return m
}

func decidedBy(a store.Approval) string {
	var names []string
	for _, v := range strings.Split(a.DecidedBy, ",") {
		if v == "timeout" {
			names = append(names, "timeout")
			continue
		}
		_, u := bot.SplitActor(v)
		names = append(names, u)
	}
	return strings.Join(names, ", ")
}

// approvalOutcome applies a decided approval to its step. It reports false
// while the approval is still pending.
func (e *Engine) approvalOutcome(ctx context.Context, st *runState, step *Step) (bool, error) {
	ap, err := e.db.ApprovalOf(ctx, st.run.ID, step.ID)
	if err != nil {
		return false, err
	}
	switch ap.Decision {
	case "":
		return false, nil
	case "approve":
		outputs := map[string]any{"decision": "approve", "approvers": toAny(ap.Votes)}
		return true, e.saveStep(ctx, st, step, StatusSucceeded, nil, outputs, "", 1)
	}
	why := "denied by " + decidedBy(ap)
	if err := e.saveStep(ctx, st, step, StatusFailed, nil, map[string]any{"decision": "deny"}, why, 1); err != nil {
		return false, err
	}
	return true, e.setRun(ctx, st, runDenied, "approval "+why)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Decide applies an Approve or Deny click. It returns what the clicker is
// told. A forged or replayed token, a clicker without the role, and the
// person who started the run (with four-eyes on) change nothing; refusals
// are recorded in the case log.
func (e *Engine) Decide(ctx context.Context, token, actor string, approve bool) (string, error) {
	var reply string
	var decided bool
	var runID int64
	now := e.now()
	// Role membership may need the chat platform (a user group): ask it
	// before the write transaction, never inside it.
	allowed := false
	if pre, err := e.db.ApprovalByToken(ctx, token); err == nil {
		allowed = e.holdsRole(ctx, actor, pre.Roles)
	}
	err := e.svc.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
		var events []bot.Event
		ap, err := tx.ApprovalByToken(ctx, token)
		if errors.Is(err, store.ErrNotFound) {
			reply = "This approval does not exist (the button is stale or forged). Nothing was changed."
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		run, err := tx.Run(ctx, ap.RunID)
		if err != nil {
			return nil, err
		}
		runID = run.ID
		refuse := func(why string) {
			reply = why
			events = append(events, bot.Event{IncidentID: run.IncidentID, Actor: actor, Kind: "approval.refused",
				Body: map[string]any{"run": run.ID, "step": ap.Step, "reason": why}})
		}
		switch {
		case ap.Decision != "":
			reply = fmt.Sprintf("Already decided: %s by %s.", ap.Decision, decidedBy(ap))
			return nil, nil
		case !allowed:
			refuse(fmt.Sprintf("Not allowed: approving %s needs role %s.", run.Playbook, strings.Join(ap.Roles, " or ")))
			return events, nil
		case e.fourEyes() && actor == run.StartedBy:
			refuse("Not allowed: you started this run, so another person must decide (four-eyes).")
			return events, nil
		case slices.Contains(ap.Votes, actor):
			reply = "You have already approved; waiting for more approvers."
			return nil, nil
		}
		if approve {
			ap.Votes = append(ap.Votes, actor)
			if len(ap.Votes) >= ap.Required {
				ap.Decision, ap.DecidedBy, ap.DecidedAt = "approve", strings.Join(ap.Votes, ","), now
			}
		} else {
			ap.Decision, ap.DecidedBy, ap.DecidedAt = "deny", actor, now
		}
		if err := tx.UpdateApproval(ctx, ap); err != nil {
			return nil, err
		}
		kind := "approval.vote"
		switch ap.Decision {
		case "approve":
			kind, reply, decided = "approval.approved", "Approved: "+run.Playbook+" goes on.", true
		case "deny":
			kind, reply, decided = "approval.denied", "Denied: "+run.Playbook+" stops.", true
		default:
			reply = fmt.Sprintf("Approval recorded (%d of %d).", len(ap.Votes), ap.Required)
		}
		events = append(events, bot.Event{IncidentID: run.IncidentID, Actor: actor, Kind: kind,
			Body:  map[string]any{"run": run.ID, "step": ap.Step, "votes": ap.Votes},
			Keyed: []bot.Keyed{{Name: approvalKey(ap.ID), Update: true, Message: approvalMessage(run, ap, nil)}}})
		return events, nil
	})
	if err != nil {
		return "", err
	}
	if decided {
		e.kick(runID)
	}
	return reply, nil
}

func (e *Engine) holdsRole(ctx context.Context, actor string, roles []string) bool {
	for _, r := range roles {
		if e.opts.Allowed(ctx, actor, r) {
			return true
		}
	}
	return false
}

// Tick starts queued runs and applies approval deadlines and escalations
// that are due.
func (e *Engine) Tick(ctx context.Context) error {
	if err := e.Resume(ctx); err != nil {
		return err
	}
	now := e.now()
	due, err := e.db.DueApprovals(ctx, now)
	if err != nil {
		return err
	}
	for _, ap := range due {
		run, err := e.db.Run(ctx, ap.RunID)
		if err != nil {
			return err
		}
		pb, _ := e.opts.Set.ByName(run.Playbook)
		var step *Step
		if pb != nil {
			step, _ = pb.Step(ap.Step)
		}
		if !ap.Deadline.After(now) {
			onTimeout := Deny
			if step != nil && step.Approval != nil && step.Approval.OnTimeout != "" {
				onTimeout = step.Approval.OnTimeout
			}
			timedOut := false
			err := e.svc.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
				cur, err := tx.ApprovalByToken(ctx, ap.Token)
				if err != nil || cur.Decision != "" {
					return nil, err // decided by a click meanwhile
				}
				cur.Decision, cur.DecidedBy, cur.DecidedAt = string(onTimeout), "timeout", now
				timedOut = true
				return []bot.Event{{IncidentID: run.IncidentID, Actor: bot.System, Kind: "approval.timed_out",
					Body:  map[string]any{"run": run.ID, "step": cur.Step, "decision": cur.Decision},
					Keyed: []bot.Keyed{{Name: approvalKey(cur.ID), Update: true, Message: approvalMessage(run, cur, nil)}}}}, tx.UpdateApproval(ctx, cur)
			})
			if err != nil {
				return err
			}
			if timedOut {
				e.kick(run.ID)
			}
			continue
		}
		// Escalation: widen the roles and ping them.
		if step == nil || step.Approval == nil || step.Approval.Escalate == nil {
			continue
		}
		ping := e.members(step.Approval.Escalate.Roles)
		err = e.svc.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
			cur, err := tx.ApprovalByToken(ctx, ap.Token)
			if err != nil || cur.Decision != "" || cur.Escalated {
				return nil, err
			}
			for _, r := range step.Approval.Escalate.Roles {
				if !slices.Contains(cur.Roles, r) {
					cur.Roles = append(cur.Roles, r)
				}
			}
			cur.Escalated = true
			return []bot.Event{{IncidentID: run.IncidentID, Actor: bot.System, Kind: "approval.escalated",
				Body: map[string]any{"run": run.ID, "step": cur.Step, "roles": cur.Roles},
				Posts: []bot.Message{{Text: "Nobody has decided on " + run.Playbook + " yet; " + strings.Join(step.Approval.Escalate.Roles, ", ") +
					" may now approve.", Mentions: ping}},
				Keyed: []bot.Keyed{{Name: approvalKey(cur.ID), Update: true, Message: approvalMessage(run, cur, ping)}}}}, tx.UpdateApproval(ctx, cur)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Plan binds a command's words to a playbook's inputs in the context of an
// incident. It is what a run would start with; nothing runs.
func (e *Engine) Plan(ctx context.Context, pb *Playbook, incidentID int64, words []string, alert map[string]any) (map[string]any, Env, error) {
	env := e.env(nil)
	env.Alert = alert
	if in, err := e.db.Incident(ctx, incidentID); err == nil {
		env.Incident = incidentVars(in)
	}
	args, positional := pb.SplitArgs(words)
	inputs, err := pb.BindInputs(args, positional, env)
	env.Inputs = inputs
	return inputs, env, err
}

// QueueForAlert queues a run of every playbook whose on.alert matches an
// alert that opened an incident. It runs inside the transaction that opens
// the incident (see bot.Options.OnOpen), so the runs are as durable
// as the alert; Tick starts them. A playbook whose inputs the alert cannot
// fill is skipped, and the case log says why.
func (e *Engine) QueueForAlert(ctx context.Context, tx *store.Tx, in store.Incident, a bot.Alert) ([]bot.Event, error) {
	var alert map[string]any
	b, _ := json.Marshal(a)
	json.Unmarshal(b, &alert)
	delete(alert, "raw")
	var events []bot.Event
	now := e.now()
	for _, pb := range e.opts.Set.MatchAlert(a.Source, a.Severity, a.Labels) {
		env := e.env(nil)
		env.Alert, env.Incident = alert, incidentVars(in)
		inputs, err := pb.BindInputs(nil, nil, env)
		if err != nil {
			events = append(events, bot.Event{IncidentID: in.ID, Actor: bot.System, Kind: "run.skipped",
				Body: map[string]any{"playbook": pb.Name, "reason": env.RedactString(err.Error())}})
			continue
		}
		raw, _ := json.Marshal(inputs)
		alertJSON, _ := json.Marshal(alert)
		run := store.Run{IncidentID: in.ID, Playbook: pb.Name, Digest: pb.Digest, Trigger: "alert", StartedBy: bot.System,
			Inputs: raw, Alert: alertJSON, Status: runQueued, CreatedAt: now, UpdatedAt: now}
		if run.ID, err = tx.CreateRun(ctx, run); err != nil {
			return nil, err
		}
		events = append(events, bot.Event{IncidentID: in.ID, Actor: bot.System, Kind: "run.queued",
			Body:  map[string]any{"run": run.ID, "playbook": pb.Name, "trigger": "alert", "inputs": env.Redact(inputs)},
			Keyed: []bot.Keyed{{Name: runKey(run.ID), Message: e.progress(pb, run, nil, nil)}}})
	}
	return events, nil
}

// sensitiveKey matches input keys whose values are credentials wherever
// they came from (an earlier step's output, not only playbook_env).
func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"authorization", "cookie", "token", "secret", "password", "apikey", "api-key", "api_key", "x-api"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// maskSensitive hides the values of credential-like keys before inputs are
// recorded in the append-only case log.
func maskSensitive(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if sensitiveKey(k) {
				out[k] = "[redacted]"
				continue
			}
			out[k] = maskSensitive(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = maskSensitive(x)
		}
		return out
	}
	return v
}
