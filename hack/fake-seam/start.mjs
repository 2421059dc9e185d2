// Starts @seamapi/fake-seam-connect on 127.0.0.1 with a small ACS seed for the
// contract tests in internal/seam (contract_test.go).
//
// Usage: node hack/fake-seam/start.mjs [port]     (or PORT=...; 0 or unset = random port)
//
// Once the server listens it prints exactly one JSON line on stdout:
//   {"endpoint","apiKey","workspaceId","acsSystemId","accessGroupIds","userIdentityId"}
// Everything else (the fake's own logging) goes to stderr. Exits on SIGINT and SIGTERM.
import http from 'node:http'
import process from 'node:process'

import { createFake } from '@seamapi/fake-seam-connect'

const host = '127.0.0.1'

// The fake's startServer calls server.listen(port, cb), which binds every
// interface. Rewrite the first numeric-port listen call to bind loopback only.
const originalListen = http.Server.prototype.listen
http.Server.prototype.listen = function listenOnLoopback(...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    const port = Number(args[0])
    const callback = args.find((a) => typeof a === 'function')
    return originalListen.call(this, { port, host }, callback)
  }
  if (args[0] != null && typeof args[0] === 'object' && args[0].host == null) {
    args[0] = { ...args[0], host }
  }
  return originalListen.apply(this, args)
}

// The fake logs to stdout; keep stdout for the one JSON line.
console.log = (...args) => console.error(...args)
console.info = (...args) => console.error(...args)

const requestedPort = Number(process.argv[2] ?? process.env.PORT ?? 0)
if (!Number.isInteger(requestedPort) || requestedPort < 0) {
  console.error(`invalid port ${process.argv[2] ?? process.env.PORT}`)
  process.exit(2)
}

const fake = await createFake()
const db = fake.database

const workspace = db.addWorkspace({ name: 'Contract test workspace', is_sandbox: true })
const apiKey = db.addApiKey({
  name: 'contract-tests',
  token: 'seam_contracttest1_fakeKeyNotSecret',
  workspace_id: workspace.workspace_id,
})
const connectedAccount = db.addConnectedAccount({
  provider: 'salto_ks',
  workspace_id: workspace.workspace_id,
  user_identifier: { email: 'owner@example.com' },
})
const acsSystem = db.addAcsSystem({
  name: 'Contract test building',
  external_type: 'salto_site',
  workspace_id: workspace.workspace_id,
  connected_account_id: connectedAccount.connected_account_id,
})
const accessGroupIds = ['Front door', 'Gym', 'Parking'].map(
  (name) =>
    db.addAcsAccessGroup({
      name,
      external_type: 'salto_access_group',
      workspace_id: workspace.workspace_id,
      acs_system_id: acsSystem.acs_system_id,
    }).acs_access_group_id,
)
const userIdentity = db.addUserIdentity({
  workspace_id: workspace.workspace_id,
  email_address: 'identity@example.com',
  full_name: 'Identity Person',
  phone_number: '+15555550100',
})

// No signals here: the fake's terminus handler only knows SIGINT; we handle both.
const server = await fake.startServer({ port: requestedPort })
const address = server.server.address()
const port = typeof address === 'object' && address != null ? address.port : requestedPort

process.stdout.write(
  JSON.stringify({
    endpoint: `http://${host}:${port}`,
    apiKey: apiKey.token,
    workspaceId: workspace.workspace_id,
    acsSystemId: acsSystem.acs_system_id,
    accessGroupIds,
    userIdentityId: userIdentity.user_identity_id,
  }) + '\n',
)

const shutdown = (signal) => {
  console.error(`fake-seam: ${signal}, shutting down`)
  server.server.close()
  // Keep-alive connections would hold close() open; the fake keeps no state worth flushing.
  setTimeout(() => process.exit(0), 200).unref()
  process.exitCode = 0
}
process.once('SIGINT', () => shutdown('SIGINT'))
process.once('SIGTERM', () => shutdown('SIGTERM'))
