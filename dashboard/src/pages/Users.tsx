import { type FormEvent, useState } from "react";
import { api, type Role, unwrap } from "../api/client";
import { Badge, Card, ErrorBanner, Field, PageHeader } from "../components/ui";
import { useAuth } from "../lib/auth";
import { formatIST } from "../lib/format";
import { ROLE_LABEL } from "../lib/roles";
import { useApi } from "../lib/useApi";

const ROLES: Role[] = ["viewer", "merchandiser", "admin"];

export function UsersPage() {
  const { me } = useAuth();
  const users = useApi(() => unwrap(api.GET("/users", { params: { query: { limit: 200 } } })), []);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(api.POST("/users", { body: { username, password, role } }));
      setUsername("");
      setPassword("");
      users.reload();
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : "Could not create the user.");
    } finally {
      setBusy(false);
    }
  };

  const update = async (id: number, body: { role?: Role; is_active?: boolean }) => {
    setError(undefined);
    try {
      await unwrap(api.PATCH("/users/{user_id}", { params: { path: { user_id: id } }, body }));
      users.reload();
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : "Could not update the user.");
    }
  };

  return (
    <>
      <PageHeader title="Users" subtitle="Who can see ReSight, and what each may change." />
      <ErrorBanner message={error ?? users.error} />
      <div className="grid-main-side">
        <Card title="Team">
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {(users.data?.items ?? []).map((user) => (
                  <tr key={user.id}>
                    <td>
                      <strong>{user.username}</strong>
                      {user.id === me?.id ? <span className="muted small"> (you)</span> : null}
                    </td>
                    <td>
                      <select
                        aria-label={`Role of ${user.username}`}
                        value={user.role}
                        disabled={user.id === me?.id}
                        onChange={(e) => update(user.id, { role: e.target.value as Role })}
                      >
                        {ROLES.map((value) => (
                          <option key={value} value={value}>
                            {ROLE_LABEL[value]}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>
                      {user.is_active ? <Badge tone="good">Active</Badge> : <Badge>Disabled</Badge>}{" "}
                      {user.id !== me?.id ? (
                        <button
                          type="button"
                          className="btn btn-small btn-ghost"
                          onClick={() => update(user.id, { is_active: !user.is_active })}
                        >
                          {user.is_active ? "Disable" : "Enable"}
                        </button>
                      ) : null}
                    </td>
                    <td className="small">{formatIST(user.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
        <Card title="Add a user">
          <form onSubmit={create} className="stack">
            <Field label="Username">
              {(id) => (
                <input id={id} value={username} onChange={(e) => setUsername(e.target.value)} required />
              )}
            </Field>
            <Field label="Password" hint="At least 8 characters.">
              {(id) => (
                <input
                  id={id}
                  type="password"
                  autoComplete="new-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  required
                />
              )}
            </Field>
            <Field label="Role">
              {(id) => (
                <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                  {ROLES.map((value) => (
                    <option key={value} value={value}>
                      {ROLE_LABEL[value]}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              Add user
            </button>
          </form>
        </Card>
      </div>
    </>
  );
}
