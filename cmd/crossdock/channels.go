package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/crossdock/crossdock/carriers"
	carriersandbox "github.com/crossdock/crossdock/carriers/sandbox"
)

// newChannelsCommand lets ops check a channels file before deploying it
// (the service refuses to start on a bad one) and print the schema for
// their editor or CI.
func newChannelsCommand() *cobra.Command {
	channels := &cobra.Command{Use: "channels", Short: "Check a channels file or print its schema"}
	channels.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a channels file (default: the sandbox's built-in one) and list its lanes",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, name := carriersandbox.ChannelsFile, "built-in sandbox channels"
			if len(args) == 1 {
				var err error
				if data, err = os.ReadFile(args[0]); err != nil {
					return err
				}
				name = args[0]
			}
			chs, err := carriers.LoadChannels(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CARRIER\tSERVICE\tLANES\tDAYS\tLABEL\tTRACKING\tCUSTOMS\tLAST MILE")
			for _, ch := range chs {
				from := "*"
				if len(ch.Origins) > 0 {
					from = strings.Join(ch.Origins, ",")
				}
				c := ch.Capabilities
				fmt.Fprintf(tw, "%s\t%s\t%s -> %s\t%d\t%s\t%s\t%s\t%s\n", ch.Carrier, ch.Service, from,
					strings.Join(ch.Destinations, ","), ch.EstimatedDays, c.Label, c.Tracking, c.Customs, c.LastMile)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %d channels, valid\n", name, len(chs))
			return err
		},
	}, &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of a channels file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(carriers.ChannelsSchema)
			return err
		},
	})
	return channels
}
