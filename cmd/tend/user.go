package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"tend/internal/apperr"
	"tend/internal/auth"
)

// UserCmd manages accounts from the shell: the first admin, and recovery
// when nobody can sign in.
type UserCmd struct {
	Add           UserAddCmd   `cmd:"" help:"Add an account (the first admin, typically)."`
	ResetPassword UserResetCmd `cmd:"" name:"reset-password" help:"Set a new password for an account."`
}

type UserAddCmd struct {
	Login      string `required:"" help:"E-mail address used to sign in."`
	Name       string `required:"" help:"Full name."`
	Role       string `default:"admin" help:"agent, developer, tester, release_manager, admin; or customer_admin, operator, integrator with --customer."`
	Department string `help:"support, development or testing (staff)."`
	Customer   string `help:"Customer code, for a contact."`
	Phone      string `help:"Contact phone."`
	Lang       string `default:"ru" enum:"ru,en" help:"Interface language."`
	Password   string `help:"Password; read from standard input when omitted." env:"TEND_PASSWORD"`
}

func (c *UserAddCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, in io.Reader, out io.Writer) error {
	st, err := openStore(ctx, g, log)
	if err != nil {
		return err
	}
	defer st.Close()
	a := auth.Account{Login: c.Login, Name: c.Name, Role: auth.Role(c.Role), Department: auth.Department(c.Department), Phone: c.Phone, Lang: c.Lang}
	if c.Customer != "" {
		id, err := st.CustomerIDByCode(ctx, c.Customer)
		if err != nil {
			return err
		}
		a.CustomerID = id
	}
	pw, err := passwordFrom(c.Password, in, out)
	if err != nil {
		return err
	}
	created, err := st.CreateAccount(ctx, auth.System, a, pw)
	if err != nil {
		return humanError(err)
	}
	fmt.Fprintf(out, "account %d created: %s (%s)\n", created.ID, created.Login, created.Role)
	return nil
}

type UserResetCmd struct {
	Login    string `arg:"" help:"Login of the account."`
	Password string `help:"New password; read from standard input when omitted." env:"TEND_PASSWORD"`
}

func (c *UserResetCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, in io.Reader, out io.Writer) error {
	st, err := openStore(ctx, g, log)
	if err != nil {
		return err
	}
	defer st.Close()
	pw, err := passwordFrom(c.Password, in, out)
	if err != nil {
		return err
	}
	if err := st.ResetPassword(ctx, c.Login, pw); err != nil {
		return humanError(err)
	}
	fmt.Fprintf(out, "password of %s changed; its browser sessions have ended\n", auth.NormalizeLogin(c.Login))
	return nil
}

// passwordFrom takes the flag, or the first line of standard input (so it
// never shows in the process list or shell history).
func passwordFrom(flag string, in io.Reader, out io.Writer) (string, error) {
	if flag != "" {
		return flag, nil
	}
	fmt.Fprint(out, "password: ")
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("no password given: pass --password or type it on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// humanError prints our errors as their message and field.
func humanError(err error) error {
	e := apperr.As(err)
	if e.Code == apperr.Internal {
		return err
	}
	if e.Field != "" {
		return fmt.Errorf("%s: %s", e.Field, e.Message)
	}
	return fmt.Errorf("%s", e.Message)
}
