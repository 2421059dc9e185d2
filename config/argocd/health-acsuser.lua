-- Argo CD health check for seam.acs-operator.io/AcsUser.
-- It reads the conditions the way kstatus (Flux, kubectl wait) does, so Argo CD and Flux
-- agree: Progressing while the operator has not caught up with the spec or is working
-- (Reconciling), Degraded when it stopped on an error a person must fix (Stalled), Healthy
-- when Ready is True for the current generation.
local hs = {}

local function find(conditions, type)
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

-- "Reason: message", as `kubectl get acsuser -o wide` would lead a person to it.
local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if obj.status == nil or obj.status.conditions == nil or #obj.status.conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the ACS user"
  return hs
end
local conditions = obj.status.conditions
local ready = find(conditions, "Ready")

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting the ACS user"
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
