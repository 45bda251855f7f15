// Sign-in: through the company's identity provider (a full-page trip to the provider and back,
// which ends with the session cookie) or with a password (the server answers with the session
// cookie; see auth/session.ts). Afterwards the person lands where they were going.
import { Alert, Button, Center, Divider, Paper, PasswordInput, Stack, TextInput, Title, Text } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthProvider";
import { describeError, fieldErrors } from "../api/problem";
import { ErrorAlert } from "../components/ErrorAlert";

export function SignIn() {
  const { api, $api, session, signIn, endedBecause } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? "/";
  const ssoError = new URLSearchParams(location.search).get("sso_error");
  const options = $api.useQuery("get", "/v1/auth/providers");
  const providers = options.data?.providers ?? [];
  // Until the server says otherwise, offer the password form (the usual case).
  const passwordAllowed = options.data?.password ?? true;
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (session) return <Navigate to={from} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { data, error } = await api.POST("/v1/auth/session", { body: { email, password } });
      if (error || !data) {
        setError(error ?? new Error("no session in the answer"));
        return;
      }
      signIn(data.csrf_token, Date.parse(data.expires_at));
      void navigate(from, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const fields = fieldErrors(error);
  const wrongPassword = (error as { status?: number } | null)?.status === 401;
  return (
    <Center component="main" mih="100vh" bg="gray.0" p="md">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={400} radius="md">
        <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title" noValidate>
          <Stack>
            <div>
              <Title order={1} size="h2" id="sign-in-title">
                Sign in to pgplane
              </Title>
              <Text c="dimmed" size="sm">
                Self-service PostgreSQL for your team
              </Text>
            </div>
            {ssoError && (
              <Alert color="red" role="alert" title="Could not sign in">
                {ssoError}
              </Alert>
            )}
            {providers.map((p) => (
              <Button
                key={p.name}
                component="a"
                href={`${p.sign_in_url}?return_to=${encodeURIComponent(from)}`}
                variant={passwordAllowed ? "default" : "filled"}
                fullWidth
              >
                Sign in with {p.display_name}
              </Button>
            ))}
            {providers.length > 0 && passwordAllowed && <Divider label="or with a password" labelPosition="center" />}
            {endedBecause === "expired" && (
              <Alert color="yellow" title="Session ended" role="status">
                Your session expired. Sign in again to continue.
              </Alert>
            )}
            {wrongPassword ? (
              <Alert color="red" role="alert" title="Could not sign in">
                {describeError(error)}
              </Alert>
            ) : (
              !fields.email && !fields.password && <ErrorAlert error={error} title="Could not sign in" />
            )}
            {passwordAllowed && (
              <>
              <TextInput
                label="Email"
                type="email"
                autoComplete="username"
                required
                value={email}
                onChange={(e) => setEmail(e.currentTarget.value)}
                error={fields.email}
                autoFocus
              />
              <PasswordInput
                label="Password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.currentTarget.value)}
                error={fields.password}
              />
              <Button type="submit" loading={busy} fullWidth>
                Sign in
              </Button>
              </>
            )}
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
