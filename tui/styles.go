package tui

import (
	gansi "charm.land/glamour/v2/ansi"
	"charm.land/lipgloss/v2"
)

// Styles are every style the console draws with, built once. Colours are
// the terminal's own ANSI palette, so the console reads the same on light
// and dark themes and on the shared terminal of a pairing session.
type Styles struct {
	App       lipgloss.Style
	Title     lipgloss.Style
	Demo      lipgloss.Style
	Env       lipgloss.Style
	EnvActive lipgloss.Style
	Dim       lipgloss.Style
	Bold      lipgloss.Style

	Border        lipgloss.Style
	BorderFocused lipgloss.Style
	PaneTitle     lipgloss.Style
	PaneTitleOn   lipgloss.Style

	Label   lipgloss.Style
	Live    lipgloss.Style
	Mock    lipgloss.Style
	Unknown lipgloss.Style
	Good    lipgloss.Style
	Warn    lipgloss.Style
	Bad     lipgloss.Style
	BadCell lipgloss.Style // a red cell: the value and its reason

	Match    lipgloss.Style // filter matches in log lines
	LogTime  lipgloss.Style
	LogWarn  lipgloss.Style
	LogError lipgloss.Style

	Follow lipgloss.Style
	Paused lipgloss.Style

	Key      lipgloss.Style
	KeyDesc  lipgloss.Style
	Overlay  lipgloss.Style
	Selected lipgloss.Style
	Input    lipgloss.Style

	// Markdown draws the runbook's troubleshooting (glamour).
	Markdown gansi.StyleConfig
}

// DefaultStyles returns the console's styles.
func DefaultStyles() Styles {
	red, green, yellow, blue, magenta, cyan := lipgloss.Color("1"), lipgloss.Color("2"), lipgloss.Color("3"), lipgloss.Color("4"), lipgloss.Color("5"), lipgloss.Color("6")
	grey := lipgloss.Color("8")
	s := Styles{}
	s.App = lipgloss.NewStyle()
	s.Title = lipgloss.NewStyle().Bold(true)
	s.Demo = lipgloss.NewStyle().Bold(true).Reverse(true).Foreground(magenta)
	s.Env = lipgloss.NewStyle().Foreground(grey)
	s.EnvActive = lipgloss.NewStyle().Bold(true).Underline(true)
	s.Dim = lipgloss.NewStyle().Foreground(grey)
	s.Bold = lipgloss.NewStyle().Bold(true)

	s.Border = lipgloss.NewStyle().Foreground(grey)
	s.BorderFocused = lipgloss.NewStyle().Foreground(cyan).Bold(true)
	s.PaneTitle = lipgloss.NewStyle().Bold(true)
	s.PaneTitleOn = lipgloss.NewStyle().Bold(true).Foreground(cyan)

	s.Label = lipgloss.NewStyle().Foreground(grey)
	s.Live = lipgloss.NewStyle().Foreground(green).Bold(true)
	s.Mock = lipgloss.NewStyle().Foreground(yellow).Bold(true)
	s.Unknown = lipgloss.NewStyle().Foreground(grey)
	s.Good = lipgloss.NewStyle().Foreground(green)
	s.Warn = lipgloss.NewStyle().Foreground(yellow)
	s.Bad = lipgloss.NewStyle().Foreground(red).Bold(true)
	s.BadCell = lipgloss.NewStyle().Foreground(red)

	s.Match = lipgloss.NewStyle().Reverse(true).Foreground(yellow)
	s.LogTime = lipgloss.NewStyle().Foreground(grey)
	s.LogWarn = lipgloss.NewStyle().Foreground(yellow)
	s.LogError = lipgloss.NewStyle().Foreground(red)

	s.Follow = lipgloss.NewStyle().Foreground(green).Bold(true)
	s.Paused = lipgloss.NewStyle().Foreground(yellow).Bold(true).Reverse(true)

	s.Key = lipgloss.NewStyle().Foreground(blue).Bold(true)
	s.KeyDesc = lipgloss.NewStyle().Foreground(grey)
	s.Overlay = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(cyan).Padding(0, 1)
	s.Selected = lipgloss.NewStyle().Reverse(true)
	s.Input = lipgloss.NewStyle().Foreground(cyan)
	s.Markdown = markdownStyle()
	return s
}

// markdownStyle is glamour's layout in the console's ANSI palette, with no
// margin of its own: headings bold cyan, commands magenta, bullets.
func markdownStyle() gansi.StyleConfig {
	colour := func(c string) *string { return &c }
	yes, none, indent := true, uint(0), uint(2)
	return gansi.StyleConfig{
		Document:       gansi.StyleBlock{Margin: &none},
		Paragraph:      gansi.StyleBlock{},
		List:           gansi.StyleList{LevelIndent: indent},
		Heading:        gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{BlockSuffix: "\n", Bold: &yes}},
		H1:             gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Color: colour("6"), Bold: &yes}},
		H2:             gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Color: colour("6"), Bold: &yes}},
		H3:             gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Bold: &yes}},
		Strong:         gansi.StylePrimitive{Bold: &yes},
		Emph:           gansi.StylePrimitive{Italic: &yes},
		Item:           gansi.StylePrimitive{BlockPrefix: "• "},
		Enumeration:    gansi.StylePrimitive{BlockPrefix: ". "},
		Link:           gansi.StylePrimitive{Color: colour("4"), Underline: &yes},
		LinkText:       gansi.StylePrimitive{Bold: &yes},
		Code:           gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Color: colour("5")}},
		CodeBlock:      gansi.StyleCodeBlock{StyleBlock: gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Color: colour("5")}, Margin: &indent}},
		BlockQuote:     gansi.StyleBlock{Indent: &indent, IndentToken: colour("│ ")},
		HorizontalRule: gansi.StylePrimitive{Color: colour("8"), Format: "\n────────\n"},
	}
}
