package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/chatwoot"
)

// Commands runs the guide's local commands against the simulated world:
// the contract tests, and the Chatwoot health script (which checks the
// simulated Chatwoot for real). Other commands do not exist in the demo.
func (e *Env) Commands() integrations.CommandRunner { return simCommands{e} }

type simCommands struct{ e *Env }

func (c simCommands) Run(ctx context.Context, dir, command string, out func(string)) (int, error) {
	words := strings.Fields(command)
	if len(words) == 0 {
		return -1, errors.New("no command to run")
	}
	say := func(line string, pause time.Duration) error {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped: %w", ctx.Err())
		case <-time.After(pause):
		}
		out(line)
		return nil
	}
	switch strings.TrimSpace(command) {
	case "npm run test:ci":
		lines := []string{
			"> hot-dash@1.4.0 test:ci",
			"> vitest run --config vitest.contracts.config.ts",
			"",
			" ✓ tests/contracts/idea-pool.contract.test.ts (18 tests)",
			" ✓ tests/contracts/publer-adapter.contract.test.ts (31 tests)",
			" ✓ tests/contracts/chatwoot-client.contract.test.ts (44 tests)",
			" ✓ tests/contracts/analytics-traffic.contract.test.ts (12 tests)",
			" ✓ tests/contracts/feature-flags.contract.test.ts (9 tests)",
			"",
			" Test Files  5 passed (5)",
			"      Tests  114 passed (114)",
		}
		for _, l := range lines {
			if err := say(l, 120*time.Millisecond); err != nil {
				return -1, err
			}
		}
		return 0, nil
	case "./scripts/ops/check-chatwoot-health.sh", "scripts/ops/check-chatwoot-health.sh":
		creds := c.e.Credentials()
		cw := chatwoot.New(chatwoot.Options{BaseURL: c.e.URL("chatwoot"), Token: creds["CHATWOOT_API_KEY"], AccountID: creds["CHATWOOT_ACCOUNT_ID"], Timeout: 5 * time.Second})
		if _, err := cw.API(ctx); err != nil {
			_ = say("❌ Chatwoot health endpoint: "+err.Error(), 0)
			return 1, nil
		}
		_ = say("✅ Chatwoot health endpoint OK", 200*time.Millisecond)
		conv, err := cw.OpenConversations(ctx)
		if err != nil {
			_ = say("❌ API authentication failed: "+err.Error(), 200*time.Millisecond)
			return 1, nil
		}
		_ = say("✅ API authentication successful", 200*time.Millisecond)
		_ = say(fmt.Sprintf("✅ Can fetch conversations (%d open)", conv.All), 200*time.Millisecond)
		return 0, nil
	}
	_ = say(fmt.Sprintf("sh: 1: %s: not found (the demo runs only the guide's commands)", words[0]), 0)
	return 127, nil
}
