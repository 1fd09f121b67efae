package main

import (
	"fmt"

	"github.com/tetherhq/tether/catalog"
)

type providersCmd struct {
	Validate providersValidateCmd `cmd:"" help:"Validate provider definitions (the built-ins when no DIR is given)."`
}

type providersValidateCmd struct {
	Dir string `arg:"" optional:"" env:"TETHER_PROVIDERS_DIR" help:"Folder of *.yaml definitions."`
}

func (p *providersValidateCmd) Run() error {
	if p.Dir == "" {
		c, err := catalog.Builtin()
		if err != nil {
			return err
		}
		fmt.Printf("%d built-in definitions are valid\n", len(c.Providers()))
		return nil
	}
	defs, err := catalog.ValidateDir(p.Dir)
	if err != nil {
		return err
	}
	for _, d := range defs {
		fmt.Printf("ok  %s  (%s)\n", d.Name, d.Source)
	}
	fmt.Printf("%d definitions in %s are valid\n", len(defs), p.Dir)
	return nil
}
