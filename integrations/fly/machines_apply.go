package fly

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// syncName starts the name of the secret an apply unsets, when the
// console knows no secrets version, to learn the current one (what `fly
// secrets sync` does): unsetting a name nobody set changes nothing.
const syncName = "HOTDASH_CONSOLE_SYNC_"

// Apply deploys the secrets the way flyctl does, one machine at a time:
// take the machine's lease, update it with its own config and the secrets
// version of the console's last write (the lease's nonce in the header),
// wait for the update's instance to be started, then for every health
// check to pass, and give the lease back. It stops at the first machine
// that does not get there. Only the app's own machines are touched; one
// whose host cannot be reached is left alone and keeps the apply from
// succeeding. The error says where each machine stands.
func (m *Machines) Apply(ctx context.Context, app string, _ integrations.ApplyMode, progress integrations.Progress) error {
	progress, end := m.board.Track(app, progress)
	defer end()
	list, err := m.listMachines(ctx, app)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return &integrations.ApplyError{App: app, Cause: fmt.Errorf("app %q has no machines: the secrets are stored, but nothing runs them", app)}
	}
	version, known := m.secretsVersion(app)
	if !known {
		if version, err = m.syncVersion(ctx, app); err != nil {
			return &integrations.ApplyError{App: app, Cause: fmt.Errorf("the console knows no secrets version to deploy, and could not learn it: %w", err)}
		}
	}
	standings := make([]integrations.MachineStanding, len(list))
	for i, mc := range list {
		standings[i] = integrations.MachineStanding{Machine: mc.model().ID, Region: mc.model().Region, Stand: integrations.StandUntouched}
	}
	for i, mc := range list {
		if mc.unreachable() {
			standings[i].Stand = integrations.StandUnverified
			standings[i].Detail = "its host cannot be reached (incomplete_config): not updated"
			progress(integrations.MachineEvent{Machine: standings[i].Machine, Region: standings[i].Region, State: clean(mc.State, 32),
				Message: "Machine " + mc.label() + " skipped: its host cannot be reached", Done: true, Err: errors.New(standings[i].Detail), Of: len(list)})
			continue
		}
		st, err := m.updateMachine(ctx, app, mc, version, len(list), progress)
		standings[i] = st
		if err != nil {
			return &integrations.ApplyError{App: app, Cause: fmt.Errorf("stopped at machine %d of %d: %w", i+1, len(list), err), Machines: standings}
		}
	}
	for _, st := range standings {
		if st.Stand != integrations.StandDone {
			return &integrations.ApplyError{App: app, Cause: errors.New("not every machine could be updated"), Machines: standings}
		}
	}
	// Every machine got there in turn: they must all still be there.
	ms, err := m.Machines(ctx, app)
	if err != nil {
		return &integrations.ApplyError{App: app, Cause: fmt.Errorf("every machine was updated, but they could not be listed again to verify it: %w", err), Machines: standings}
	}
	return integrations.VerifyMachines(app, ms)
}

// syncVersion learns the app's current secrets version by unsetting a
// name nobody set, as `fly secrets sync` does.
func (m *Machines) syncVersion(ctx context.Context, app string) (int64, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	version, err := m.postSecrets(ctx, app, map[string]*string{syncName + hex.EncodeToString(b): nil})
	if err != nil {
		return 0, err
	}
	if version == nil {
		return 0, errors.New("the API answered no version")
	}
	return *version, nil
}

// apiLease is the answer of POST /apps/{app}/machines/{id}/lease.
type apiLease struct {
	Data struct {
		Nonce string `json:"nonce"`
	} `json:"data"`
}

// updateMachine takes one machine through the apply and says where it
// stands; the error is why it did not get there.
func (m *Machines) updateMachine(ctx context.Context, app string, mc apiMachine, version int64, of int, progress integrations.Progress) (integrations.MachineStanding, error) {
	model := mc.model()
	st := integrations.MachineStanding{Machine: model.ID, Region: model.Region, Stand: integrations.StandUntouched}
	event := func(state, msg string, done bool, err error) {
		progress(integrations.MachineEvent{Machine: model.ID, Region: model.Region, State: state, Message: msg, Done: done, Err: err, Of: of})
	}
	fail := func(state string, err error) (integrations.MachineStanding, error) {
		if ctx.Err() != nil {
			err = fmt.Errorf("machine %s was left %s: the console stopped watching (%w); Fly finishes what it started", model.Label(), state, ctx.Err())
		}
		if st.Stand != integrations.StandUntouched {
			st.Stand = integrations.StandFailed
		}
		st.Detail = err.Error()
		event(state, err.Error(), true, err)
		return st, err
	}
	event("updating", fmt.Sprintf("Updating machine %s with secrets version %d", model.ID, version), false, nil)

	deadline := m.o.Now().Add(m.o.MachineWait)
	nonce, err := m.lease(ctx, app, mc.ID, deadline)
	if err != nil {
		return fail(model.State, err)
	}
	defer m.release(ctx, app, mc.ID, nonce)

	instance, err := m.update(ctx, app, mc, version, nonce)
	if err != nil {
		return fail(model.State, err)
	}
	st.Stand = integrations.StandUnverified // updated: from here on it is the machine's own doing
	m.mu.Lock()
	if m.applied[app] == nil {
		m.applied[app] = map[string]appliedVersion{}
	}
	m.applied[app][mc.ID] = appliedVersion{instance: instance, version: version}
	m.mu.Unlock()

	if mc.idle() {
		// It is updated without being started: it takes the version when
		// it next starts.
		if state, err := m.waitState(ctx, app, mc, mc.State, instance, deadline); err != nil {
			return fail(state, err)
		}
		st.Stand = integrations.StandDone
		event(model.State, fmt.Sprintf("Machine %s is %s: updated, it takes secrets version %d when it next starts", model.ID, model.State, version), true, nil)
		return st, nil
	}
	state, err := m.waitState(ctx, app, mc, "started", instance, deadline)
	if err != nil {
		return fail(state, err)
	}
	event("started", "Checking health of machine "+model.ID, false, nil)
	if state, err := m.waitHealthy(ctx, app, mc, deadline); err != nil {
		return fail(state, err)
	}
	st.Stand = integrations.StandDone
	event("started", "Machine "+model.ID+" is now in a good state", true, nil)
	return st, nil
}

// lease takes the machine's lease until deadline (and a minute more, for
// the release), retrying while someone else holds it.
func (m *Machines) lease(ctx context.Context, app, id string, deadline time.Time) (string, error) {
	ttl := int(deadline.Sub(m.o.Now()).Seconds()) + 60
	var answer apiLease
	c := apiCall{
		method: http.MethodPost, path: machinesPath(app, "machines", id, "lease"), app: app,
		action: "lease", machine: id, query: url.Values{"ttl": {strconv.Itoa(ttl)}}, retry409: true,
	}
	if err := m.call(ctx, c, &answer); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.code == http.StatusConflict {
			return "", fmt.Errorf("machine %s: its lease is held by someone else (another deploy?): %w", id, err)
		}
		return "", fmt.Errorf("machine %s: lease not taken: %w", id, err)
	}
	if answer.Data.Nonce == "" {
		return "", fmt.Errorf("machine %s: the lease answer has no nonce", id)
	}
	return answer.Data.Nonce, nil
}

// release gives the lease back, even when ctx has ended.
func (m *Machines) release(ctx context.Context, app, id, nonce string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.o.Timeout)
	defer cancel()
	c := apiCall{method: http.MethodDelete, path: machinesPath(app, "machines", id, "lease"), app: app, action: "release", machine: id, nonce: nonce}
	_ = m.call(rctx, c, nil) // an unreleased lease expires with its ttl
}

// update sends the machine its own config with the secrets version, and
// returns the new instance to wait for. A failed try whose answer was lost
// may still have been made: the machine is read before the update is sent
// again, so it never restarts twice.
func (m *Machines) update(ctx context.Context, app string, mc apiMachine, version int64, nonce string) (string, error) {
	body := apiUpdate{Config: mc.Config, MinSecretsVersion: &version, SkipLaunch: mc.idle()}
	c := apiCall{
		method: http.MethodPost, path: machinesPath(app, "machines", mc.ID), app: app,
		action: "update", machine: mc.ID, body: body, nonce: nonce, once: true,
	}
	backoff := m.o.BaseBackoff
	for try := 1; ; try++ {
		var answer apiMachine
		err := m.call(ctx, c, &answer)
		if err == nil {
			return answer.InstanceID, nil
		}
		var ae *apiError
		if !errors.As(err, &ae) || !ae.retryable() || try > m.o.Retries || ctx.Err() != nil {
			return "", fmt.Errorf("machine %s: update: %w", mc.label(), err)
		}
		cur, gerr := m.getMachine(ctx, app, mc.ID)
		if gerr == nil && cur.InstanceID != "" && cur.InstanceID != mc.InstanceID {
			return cur.InstanceID, nil // the lost try was made
		}
		if httpc.Sleep(ctx, httpc.Jitter(backoff)) != nil {
			return "", fmt.Errorf("machine %s: update: %w", mc.label(), err)
		}
		backoff *= 2
	}
}

// getMachine reads one machine.
func (m *Machines) getMachine(ctx context.Context, app, id string) (apiMachine, error) {
	var cur apiMachine
	c := apiCall{method: http.MethodGet, path: machinesPath(app, "machines", id), app: app, action: "get", machine: id}
	err := m.call(ctx, c, &cur)
	return cur, err
}

// waitState waits, with the API's /wait, for the update's instance to be
// in state want. A machine that lands in a final state (failed,
// launch_failed, destroyed) or is not there by deadline stops the apply.
// It returns the last state seen.
func (m *Machines) waitState(ctx context.Context, app string, mc apiMachine, want, instance string, deadline time.Time) (string, error) {
	state := "updating"
	for {
		// The API waits at most 60s, and the request must end before its
		// own timeout does.
		wait := min(deadline.Sub(m.o.Now()), m.o.Timeout-time.Second, 60*time.Second)
		q := url.Values{"state": {want}, "timeout": {strconv.Itoa(max(int(wait.Seconds()), 1))}}
		if instance != "" {
			q.Set("version", instance)
		}
		c := apiCall{method: http.MethodGet, path: machinesPath(app, "machines", mc.ID, "wait"), app: app, action: "wait", machine: mc.ID, query: q}
		werr := m.call(ctx, c, nil)
		if ctx.Err() != nil {
			return state, ctx.Err()
		}
		cur, err := m.getMachine(ctx, app, mc.ID)
		if err != nil {
			return state, fmt.Errorf("machine %s: %w", mc.label(), err)
		}
		state = clean(cur.State, 32)
		switch {
		case werr == nil && state == want:
			return state, nil
		case finalState(cur.State):
			return state, fmt.Errorf("machine %s %s%s", mc.label(), state, cur.checkTrouble())
		case !m.o.Now().Before(deadline):
			return state, fmt.Errorf("machine %s is still %s after %s", mc.label(), state, durationText(m.o.MachineWait))
		}
		var ae *apiError
		if werr != nil && !(errors.As(werr, &ae) && ae.code == http.StatusRequestTimeout) {
			return state, fmt.Errorf("machine %s: %w", mc.label(), werr)
		}
	}
}

// waitHealthy polls the machine, within the rate budget, until every
// health check passes, the machine leaves started, or deadline.
func (m *Machines) waitHealthy(ctx context.Context, app string, mc apiMachine, deadline time.Time) (string, error) {
	for {
		cur, err := m.getMachine(ctx, app, mc.ID)
		if err != nil {
			return "started", fmt.Errorf("machine %s: %w", mc.label(), err)
		}
		state := clean(cur.State, 32)
		switch {
		case cur.State == "started" && cur.healthy():
			return state, nil
		case cur.State != "started":
			return state, fmt.Errorf("machine %s is %s, not started%s", mc.label(), state, cur.checkTrouble())
		case !m.o.Now().Before(deadline):
			return state, fmt.Errorf("machine %s started, but its health checks do not pass after %s%s", mc.label(), durationText(m.o.MachineWait), cur.checkTrouble())
		}
	}
}

// finalState reports a state a machine does not leave by itself.
func finalState(state string) bool {
	switch state {
	case "failed", "launch_failed", "destroyed", "destroying", "replaced":
		return true
	}
	return false
}
