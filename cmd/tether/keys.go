package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/vault"
)

type keysCmd struct {
	Create keysCreateCmd `cmd:"" help:"Create an API key and print it (shown only once)."`
	List   keysListCmd   `cmd:"" help:"List API keys."`
	Revoke keysRevokeCmd `cmd:"" help:"Revoke an API key."`
	Master keysMasterCmd `cmd:"" help:"Generate a master key for TETHER_MASTER_KEY."`
}

// storeConfig opens only the store, for commands that need nothing else.
type storeConfig struct {
	Config `embed:""`
}

func (c *storeConfig) open(ctx context.Context) (tether.Store, error) {
	c.Listen = ":8080" // unused; lets validation derive a public URL
	if err := c.validate(); err != nil {
		return nil, err
	}
	return openStore(ctx, &c.Config)
}

type keysCreateCmd struct {
	storeConfig
	Name string `help:"What the key is for." default:"api"`
}

func (k *keysCreateCmd) Run(ctx context.Context) error {
	store, err := k.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	key, secret := tether.NewAPIKey(k.Name)
	if err := store.CreateAPIKey(ctx, key); err != nil {
		return err
	}
	fmt.Printf("Created %s (%s). The key is shown only this once:\n\n    %s\n", key.ID, key.Name, secret)
	return nil
}

type keysListCmd struct{ storeConfig }

func (k *keysListCmd) Run(ctx context.Context) error {
	store, err := k.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := store.APIKeys(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tENDS WITH\tCREATED\tREVOKED")
	for _, key := range keys {
		revoked := "-"
		if key.RevokedAt != nil {
			revoked = key.RevokedAt.String()
		}
		fmt.Fprintf(w, "%s\t%s\t…%s\t%s\t%s\n", key.ID, key.Name, key.Hint, key.CreatedAt, revoked)
	}
	return w.Flush()
}

type keysRevokeCmd struct {
	storeConfig
	ID string `arg:"" help:"The key id (key_...)."`
}

func (k *keysRevokeCmd) Run(ctx context.Context) error {
	store, err := k.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.RevokeAPIKey(ctx, k.ID); err != nil {
		return err
	}
	fmt.Printf("Revoked %s\n", k.ID)
	return nil
}

type keysMasterCmd struct{}

func (keysMasterCmd) Run() error { //nolint:unparam // kong wants an error result
	fmt.Println(vault.GenerateMasterKey())
	return nil
}
