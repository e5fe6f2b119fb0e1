// Package tui is the console's terminal interface: a Bubble Tea v2 view
// over the live engine. The same model runs in a local terminal and in
// each SSH session of a pairing share.
package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/runbook"
)

// Options configure a console view.
type Options struct {
	Stack   *connect.Stack
	Runbook *runbook.Runbook
	// Env is the environment shown first (default: the configured default).
	Env string
	// Scenario is shown in the header of a demo.
	Scenario string
	// Now is the clock for ages and countdowns (default time.Now).
	Now func() time.Time
	// Tick is how often ages refresh (default 1s).
	Tick time.Duration
	// Runner executes the checklist; Seat is this view's session on it
	// (New seats one when it is nil), and every action comes from it.
	Runner *runbook.Runner
	Seat   *runbook.Seat
	// Operator is who this view is (default: the seat's operator).
	Operator string
	// HistoryPath is the check history the monitoring view reads.
	HistoryPath string
}

type mode int

const (
	modeDashboard mode = iota
	modeLog
	modeChecklist
)

// Model is the root of the console UI.
type Model struct {
	o    Options
	st   Styles
	keys keyMap

	width, height int
	now           time.Time

	envs  []*envView
	env   int // index of the environment shown
	focus int // index of the focused pane
	mode  mode

	showHelp   bool
	helpScroll int // the first row of ? shown, when it does not fit
	showFaults bool
	showHealth bool
	health     healthState
	trouble    troubleState // `t`: the focused integration's troubleshooting
	faultSel   int
	faultMsg   string

	// per-pane view state, shared by every environment
	filters  []*integrations.Filter
	scroll   []logScroll // each pane's log: following or paused
	paneRows []int       // each pane's log rows, as last drawn

	filtering bool
	input     textinput.Model
	filterErr string
	history   []string
	histPos   int

	// the checklist
	run      *runbook.State
	runCh    <-chan struct{}
	runStop  func()
	sel      int             // selected step
	dlg      *dialog         // the open dialog
	asked    uint64          // the runner prompt this view asked for
	advance  string          // the step this view started: on passing, select the next
	hidden   uint64          // another operator's prompt this view chose not to watch
	deferred uint64          // another operator's proposal this view set aside
	flash    string          // the last thing an action said
	noticed  uint64          // the last runner notice this view has shown
	later    map[string]bool // proposed rollbacks set aside for later
	ownSeat  bool            // New seated this view: Close frees the seat
}

// envView is one environment's live state as this view has received it.
type envView struct {
	env     *connect.Env
	sub     *integrations.Subscription
	snap    *integrations.Snapshot
	logs    []*logStore
	dropped uint64
}

// New builds the console UI over a started stack.
func New(o Options) *Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	m := &Model{o: o, st: DefaultStyles(), keys: defaultKeys(), now: o.Now(), width: 80, height: 24}
	n := len(o.Runbook.Integrations)
	m.filters = make([]*integrations.Filter, n)
	m.scroll = make([]logScroll, n)
	m.paneRows = make([]int, n)
	ring := o.Stack.Config.Watch.LogBuffer
	for i, e := range o.Stack.Envs {
		ev := &envView{env: e, sub: e.Watcher.Subscribe()}
		ev.snap = ev.sub.First.Sanitized()
		for k := range n {
			ls := newLogStore(ring)
			if k < len(ev.sub.Backlog) {
				ls.append(ev.sub.Backlog[k])
			}
			ev.logs = append(ev.logs, ls)
		}
		m.envs = append(m.envs, ev)
		if e.Config.Name == o.Env || (o.Env == "" && e.Config.Name == o.Stack.Config.DefaultEnv) {
			m.env = i
		}
	}
	m.input = textinput.New()
	m.input.Prompt = "/"
	m.input.Placeholder = "regex, case-insensitive; !inverts"
	m.later = map[string]bool{}
	if o.Runner != nil {
		if m.o.Seat == nil {
			m.o.Seat, m.ownSeat = o.Runner.Join(o.Operator), true
		}
		if m.o.Operator == "" {
			m.o.Operator = m.o.Seat.Operator
		}
		m.runCh, m.runStop = o.Runner.Subscribe()
		m.run = o.Runner.State()
		if n := len(m.run.Notices); n > 0 {
			m.noticed = m.run.Notices[n-1].ID // what was said before this view opened
		}
		m.sel = m.stepIndex(m.run.Next())
		for i, st := range m.run.Steps {
			if strings.HasPrefix(st.Result, "interrupted: ") {
				m.sel = i
			}
		}
		if m.run.Resume != "" {
			m.mode = modeChecklist
		}
	}
	return m
}

// Close ends the view's subscriptions. Call it when the program ends.
func (m *Model) Close() {
	for _, e := range m.envs {
		e.sub.Close()
	}
	if m.runStop != nil {
		m.runStop()
	}
	if m.ownSeat {
		m.o.Seat.Leave()
	}
}

type updateMsg struct {
	env int
	u   integrations.Update
	ok  bool
}

type tickMsg time.Time

func waitUpdate(i int, sub *integrations.Subscription) tea.Cmd {
	return func() tea.Msg {
		u, ok := sub.Next(contextBackground)
		return updateMsg{env: i, u: u, ok: ok}
	}
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.o.Tick, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init starts listening to every environment.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.tick()}
	if m.runCh != nil {
		cmds = append(cmds, waitRunner(m.runCh))
	}
	for i, e := range m.envs {
		cmds = append(cmds, waitUpdate(i, e.sub))
	}
	return tea.Batch(cmds...)
}

func (m *Model) cur() *envView { return m.envs[m.env] }

func (m *Model) defs() []*integrations.Definition { return m.o.Runbook.Integrations }

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.input.SetWidth(max(10, min(60, m.width/2)))
		if m.trouble.open {
			m.refreshTrouble()
		}
		return m, nil
	case updateMsg:
		if !msg.ok {
			return m, nil
		}
		m.apply(msg.env, msg.u)
		if m.trouble.open {
			m.refreshTrouble()
		}
		return m, waitUpdate(msg.env, m.envs[msg.env].sub)
	case tickMsg:
		m.now = m.o.Now()
		if m.showHealth {
			m.refreshHealth()
		}
		return m, m.tick()
	case runnerMsg:
		m.onRunner()
		if m.showHealth {
			m.refreshHealth()
		}
		return m, waitRunner(m.runCh)
	case liveValueMsg:
		m.flash = msg.text
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	if m.dlg != nil {
		return m, m.dlg.update(msg)
	}
	if m.filtering {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// apply takes an engine update into this view.
func (m *Model) apply(i int, u integrations.Update) {
	ev := m.envs[i]
	ev.snap = u.Snap.Sanitized() // what the platform and the probes said, made safe once
	ev.dropped = u.Dropped
	logH := 0 // the log view's height, measured once and only when needed
	for k, lines := range u.Lines {
		// The last batch holds the lines no integration claims: no pane
		// shows them.
		if k >= len(ev.logs) || len(lines) == 0 {
			continue
		}
		added := ev.logs[k].append(lines)
		// Only a paused view moves with what arrives; measuring the log
		// view's height draws its status rows, so do it only then.
		if i == m.env && k < len(m.scroll) && m.scroll[k].paused {
			if logH == 0 {
				logH = m.logHeight()
			}
			m.scroll[k].arrived(added, max(0, ev.logs[k].count()-logH))
		}
	}
}

func (m *Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	m.flash = "" // what the last action said is read once
	if m.dlg != nil {
		return m.dialogKey(msg)
	}
	if m.filtering {
		return m.filterKey(msg)
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, k.Help, k.Back, k.Quit):
			m.showHelp = false
		case key.Matches(msg, k.Up):
			m.helpScroll--
		case key.Matches(msg, k.Down):
			m.helpScroll++
		case key.Matches(msg, k.PageUp):
			m.helpScroll -= 10
		case key.Matches(msg, k.PageDown):
			m.helpScroll += 10
		}
		return m, nil
	}
	if m.showFaults {
		return m.faultKey(msg)
	}
	if m.trouble.open {
		return m.troubleKey(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Checklist) && m.run != nil && m.mode != modeChecklist:
		m.mode = modeChecklist
		return m, nil
	case key.Matches(msg, k.Emergency) && m.run != nil:
		// The environment on screen, whatever step is selected.
		return m, m.askRollback(runbook.RollbackRequest{Env: m.cur().env.Config.Name, Emergency: true, Why: "emergency rollback (R)"})
	case key.Matches(msg, k.Decide) && m.run != nil && len(m.o.Runbook.Decision.Branches) > 0:
		m.dlg = m.decisionDialog()
		return m, nil
	case key.Matches(msg, k.Rollback) && m.run != nil:
		env, id := m.target()
		return m, m.askRollback(runbook.RollbackRequest{Env: env, IDs: []string{id}, Why: "key r"})
	case key.Matches(msg, k.Control) && m.run != nil && m.run.Shared:
		m.dlg = m.controlDialog()
		return m, nil
	case key.Matches(msg, k.Approve) && m.run != nil && m.run.Reviewable(m.o.Seat):
		m.dlg = m.approvalDialog(m.run.Prompt)
		return m, nil
	case key.Matches(msg, k.Health):
		m.showHealth = !m.showHealth
		if m.showHealth {
			m.health = healthState{} // read afresh on opening
			m.refreshHealth()
		}
		return m, nil
	case m.showHealth && key.Matches(msg, k.Back):
		m.showHealth = false
		return m, nil
	case key.Matches(msg, k.LiveValue) && m.mode != modeChecklist:
		return m, m.readLiveValue()
	case key.Matches(msg, k.Help):
		m.showHelp, m.helpScroll = true, 0
		return m, nil
	case key.Matches(msg, k.Trouble):
		m.openTrouble()
		return m, nil
	case key.Matches(msg, k.Faults) && m.o.Stack.Faults != nil:
		m.showFaults = true
		return m, nil
	case m.mode == modeChecklist:
		return m.checklistKey(msg)
	case key.Matches(msg, k.Filter):
		return m, m.startFilter()
	case key.Matches(msg, k.ClearFilter):
		m.setFilter(m.focus, nil)
		return m, nil
	case key.Matches(msg, k.Env):
		m.env = (m.env + 1) % len(m.envs)
		for i := range m.scroll {
			m.scroll[i].follow()
		}
		if m.showHealth {
			m.refreshHealth()
		}
		return m, nil
	}
	if m.mode == modeLog {
		return m.logKey(msg)
	}
	// The log keys act on the focused pane's log on the dashboard too.
	if m.scrollKey(msg, m.focus, max(1, m.paneRows[m.focus]), false) {
		return m, nil
	}
	n := len(m.defs())
	cols, _ := m.grid()
	switch {
	case key.Matches(msg, k.Next):
		m.focus = (m.focus + 1) % n
	case key.Matches(msg, k.Prev):
		m.focus = (m.focus + n - 1) % n
	case key.Matches(msg, k.Right):
		m.focus = min(n-1, m.focus+1)
	case key.Matches(msg, k.Left):
		m.focus = max(0, m.focus-1)
	case key.Matches(msg, k.Down):
		m.focus = min(n-1, m.focus+cols)
	case key.Matches(msg, k.Up):
		m.focus = max(0, m.focus-cols)
	case key.Matches(msg, k.Jump):
		if d := int(msg.String()[0] - '1'); d >= 0 && d < n {
			m.focus = d
		}
	case key.Matches(msg, k.Open):
		m.mode = modeLog
	}
	return m, nil
}

func (m *Model) logKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case m.scrollKey(msg, m.focus, m.logHeight(), true):
	case key.Matches(msg, k.Back):
		m.mode = modeDashboard
		m.scroll[m.focus].follow()
	case key.Matches(msg, k.Next):
		m.focus = (m.focus + 1) % len(m.defs())
	case key.Matches(msg, k.Prev):
		m.focus = (m.focus + len(m.defs()) - 1) % len(m.defs())
	}
	return m, nil
}

// scrollKey moves pane i's log, h rows tall, by a log key: page, oldest,
// newest, follow or pause, and by a line when lines is set (the full
// log; on the dashboard the arrows move between panes). It reports
// whether msg was one of them.
func (m *Model) scrollKey(msg tea.KeyPressMsg, i, h int, lines bool) bool {
	k := m.keys
	page := max(1, h-1)
	maxOff := max(0, m.cur().logs[i].count()-h)
	sc := &m.scroll[i]
	switch {
	case lines && key.Matches(msg, k.Up):
		sc.by(1, maxOff)
	case lines && key.Matches(msg, k.Down):
		sc.by(-1, maxOff)
	case key.Matches(msg, k.PageUp):
		sc.by(page, maxOff)
	case key.Matches(msg, k.PageDown):
		sc.by(-page, maxOff)
	case key.Matches(msg, k.Top):
		sc.by(maxOff+1, maxOff)
	case key.Matches(msg, k.Bottom):
		sc.follow()
	case key.Matches(msg, k.Follow):
		if sc.paused {
			sc.follow()
		} else {
			sc.paused = true // hold the lines where they are
		}
	default:
		return false
	}
	return true
}

func (m *Model) startFilter() tea.Cmd {
	m.filtering = true
	m.filterErr = ""
	m.histPos = len(m.history)
	m.input.SetValue(m.filters[m.focus].String())
	m.input.CursorEnd()
	return m.input.Focus()
}

func (m *Model) filterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.filtering = false
		m.filterErr = ""
		m.input.Blur()
		return m, nil
	case "enter":
		expr := strings.TrimSpace(m.input.Value())
		f, err := integrations.ParseFilter(expr)
		if err != nil {
			m.filterErr = err.Error()
			return m, nil
		}
		m.setFilter(m.focus, f)
		m.filtering = false
		m.filterErr = ""
		m.input.Blur()
		return m, nil
	case "up":
		// The previous filters, newest first, skipping the one shown.
		for m.histPos > 0 {
			m.histPos--
			if m.history[m.histPos] != m.input.Value() {
				m.input.SetValue(m.history[m.histPos])
				m.input.CursorEnd()
				break
			}
		}
		return m, nil
	case "down":
		if m.histPos < len(m.history)-1 {
			m.histPos++
			m.input.SetValue(m.history[m.histPos])
		} else {
			m.histPos = len(m.history)
			m.input.SetValue("")
		}
		m.input.CursorEnd()
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	m.filterErr = ""
	return m, cmd
}

// setFilter applies f to pane i in every environment and remembers the
// expression it replaces.
func (m *Model) setFilter(i int, f *integrations.Filter) {
	if old := m.filters[i].String(); old != "" && (len(m.history) == 0 || m.history[len(m.history)-1] != old) {
		m.history = append(m.history, old)
	}
	if expr := f.String(); expr != "" && (len(m.history) == 0 || m.history[len(m.history)-1] != expr) {
		m.history = append(m.history, expr)
	}
	m.filters[i] = f
	for _, e := range m.envs {
		e.logs[i].setFilter(f)
	}
	m.scroll[i].follow()
}

func (m *Model) faultKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	sw := m.o.Stack.Faults.FaultSwitches()
	switch {
	case key.Matches(msg, m.keys.Back, m.keys.Faults, m.keys.Quit):
		m.showFaults = false
	case key.Matches(msg, m.keys.Up):
		m.faultSel = max(0, m.faultSel-1)
	case key.Matches(msg, m.keys.Down):
		m.faultSel = min(len(sw)-1, m.faultSel+1)
	case msg.String() == "enter" || msg.String() == "space":
		if m.faultSel < len(sw) {
			on, err := m.o.Stack.Faults.ToggleFault(sw[m.faultSel].Key)
			switch {
			case err != nil:
				m.faultMsg = err.Error()
			case on:
				m.faultMsg = sw[m.faultSel].Name + ": on"
			default:
				m.faultMsg = sw[m.faultSel].Name + ": off"
			}
		}
	}
	return m, nil
}

// View renders the console.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = fmt.Sprintf("hotdash-console · %s", m.cur().env.Config.Name)
	return v
}

type liveValueMsg struct{ text string }

// readLiveValue reads the focused integration's flag on a running machine
// (`fly ssh console -C 'printenv NAME'`), the way the guide checks it.
func (m *Model) readLiveValue() tea.Cmd {
	d := m.defs()[m.focus]
	app := m.cur().env.App
	if d.Flag == "" {
		m.flash = d.Name + " has no flag"
		return nil
	}
	rd, ok := m.o.Stack.Platform.(integrations.EnvReader)
	if !ok {
		m.flash = "platform " + m.o.Stack.Platform.Name() + " cannot read live values: use fly ssh console -a " + app
		return nil
	}
	m.flash = fmt.Sprintf("reading %s on a running machine of %s…", d.Flag, app)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		v, err := rd.ReadEnv(ctx, app, d.Flag)
		switch {
		case err != nil:
			return liveValueMsg{fmt.Sprintf("%s on %s: could not read it: %v", d.Flag, app, err)}
		case v == "":
			return liveValueMsg{fmt.Sprintf("%s on %s (running machine): not set", d.Flag, app)}
		}
		return liveValueMsg{fmt.Sprintf("%s on %s (running machine): %s", d.Flag, app, v)}
	}
}
