package main

import (
	"fmt"
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// draw plots runs in flight per limit over the burst, each beside its limit
// as a dashed line of the same colour, so a reader sees limits hold and
// slots refill.
func (tl *timeline) draw(file string, limits map[string]int) error {
	p := plot.New()
	p.Title.Text = "Runs in flight against their limits (unfinished Jobs, from one watch)"
	p.X.Label.Text = "seconds since the first run request"
	p.Y.Label.Text = "unfinished Jobs"
	p.Legend.Top = true
	colors := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255}}
	keys := append([]string(nil), tl.keys...)
	sort.Strings(keys)
	var end float64
	for _, k := range keys {
		if pts := tl.points[k]; len(pts) > 0 && pts[len(pts)-1][0] > end {
			end = pts[len(pts)-1][0]
		}
	}
	for i, k := range keys {
		c := colors[i%len(colors)]
		xy := make(plotter.XYs, 0, 2*len(tl.points[k]))
		prev := 0.0
		for _, pt := range tl.points[k] {
			xy = append(xy, plotter.XY{X: pt[0], Y: prev}, plotter.XY{X: pt[0], Y: pt[1]}) // steps
			prev = pt[1]
		}
		line, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		line.Color, line.Width = c, vg.Points(1.2)
		p.Add(line)
		p.Legend.Add(k, line)
		if l, ok := limits[k]; ok {
			lim, err := plotter.NewLine(plotter.XYs{{X: 0, Y: float64(l)}, {X: end, Y: float64(l)}})
			if err != nil {
				return err
			}
			lim.Color, lim.Width, lim.Dashes = c, vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(lim)
			p.Legend.Add(fmt.Sprintf("%s limit (%d)", k, l), lim)
		}
	}
	return p.Save(10*vg.Inch, 5*vg.Inch, file)
}
