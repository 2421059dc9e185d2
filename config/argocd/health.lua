-- Argo CD health check for every seam.acs-operator.io kind: AcsUser, AcsCredential,
-- SeamConnection and ClusterSeamConnection. One script for all of them, installed under each
-- kind's key (hack/sync-argocd-patch.sh), as the operator writes the same conditions on each.
-- It reads the conditions the way kstatus (Flux, kubectl wait) does, so Argo CD and Flux
-- agree: Progressing while the operator has not caught up with the spec or is working
-- (Reconciling), Degraded when it stopped on an error a person must fix (Stalled), Healthy
-- when Ready is True for the current generation.
local hs = {}

-- What the object is, for the messages; obj.kind is set on every object Argo CD reads.
local nouns = {
  AcsUser = "the ACS user",
  AcsCredential = "the credential",
  SeamConnection = "the connection",
  ClusterSeamConnection = "the connection",
}
local noun = nouns[obj.kind] or "the object"
local firstLook = "Waiting for the operator to reconcile " .. noun
if obj.kind == "SeamConnection" or obj.kind == "ClusterSeamConnection" then
  firstLook = "Waiting for the operator to check the connection to Seam"
end

local function find(conditions, type)
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

-- "Reason: message", as `kubectl get <kind> -o wide` would lead a person to it.
local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if obj.status == nil or obj.status.conditions == nil or #obj.status.conditions == 0 then
  hs.status = "Progressing"
  hs.message = firstLook
  return hs
end
local conditions = obj.status.conditions
local ready = find(conditions, "Ready")

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting " .. noun
  if ready ~= nil and ready.status == "False" then
    hs.message = hs.message .. " (" .. describe(ready) .. ")"
  end
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to apply generation " .. generation
  local reconciling = find(conditions, "Reconciling")
  if reconciling ~= nil and reconciling.status == "True" then
    hs.message = describe(reconciling)
  end
  return hs
end

local stalled = find(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local reconciling = find(conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling)
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
if ready ~= nil and ready.status == "False" then
  -- Not working on it and not stalled: the operator reports a failure it does not retry.
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs
