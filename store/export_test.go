package store

import (
	"context"
	"fmt"
)

// MigrateDownTo rolls the schema back to version, so a test can put data
// in the older shape and check what a later migration makes of it.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("migrate %s database down to %d: %w", s.dialect, version, err)
	}
	return nil
}
