package markdown

import "testing"

func TestTable(t *testing.T) {
	got := NewTable("a", "b|c").AddRow("1", "x\ny").AddRow("only").String()
	want := "| a | b\\|c |\n|---|---|\n| 1 | x y |\n| only |  |\n"
	if got != want {
		t.Errorf("table:\n%q\nwant\n%q", got, want)
	}
}
