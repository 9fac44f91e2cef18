--- studio.textdiff: a line diff of two texts, for the studio's diffs.
--
--   textdiff.lines(old, new) -> {{op = " " | "+" | "-", text}}
--       every line of both texts in order: " " in both, "-" only in old,
--       "+" only in new. The common head and tail are matched first; the
--       middle by longest common subsequence (a middle of more than
--       4 million line pairs is shown as all removed, then all added).
local M = {}

local MAX_CELLS = 4000000

local function split(s)
  local out = {}
  if s == nil or s == "" then return out end
  for l in (s:sub(-1) == "\n" and s or s .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

function M.lines(old, new)
  local a, b = split(old), split(new)
  local out = {}
  local head = 0
  while head < #a and head < #b and a[head + 1] == b[head + 1] do head = head + 1 end
  local tail = 0
  while tail < #a - head and tail < #b - head and a[#a - tail] == b[#b - tail] do tail = tail + 1 end
  for i = 1, head do out[#out + 1] = { op = " ", text = a[i] } end
  local n, m = #a - head - tail, #b - head - tail
  if n * m > MAX_CELLS then
    for i = 1, n do out[#out + 1] = { op = "-", text = a[head + i] } end
    for j = 1, m do out[#out + 1] = { op = "+", text = b[head + j] } end
  else
    -- L[i][j]: the LCS length of a's middle from i and b's from j
    local L = {}
    for i = n + 1, 1, -1 do
      local row, below = {}, L[i + 1]
      for j = m + 1, 1, -1 do
        if i > n or j > m then row[j] = 0
        elseif a[head + i] == b[head + j] then row[j] = below[j + 1] + 1
        else
          local d, r = below[j], row[j + 1]
          row[j] = d > r and d or r
        end
      end
      L[i] = row
    end
    local i, j = 1, 1
    while i <= n or j <= m do
      if i <= n and j <= m and a[head + i] == b[head + j] then
        out[#out + 1] = { op = " ", text = a[head + i] }; i, j = i + 1, j + 1
      elseif j <= m and (i > n or L[i][j + 1] >= L[i + 1][j]) then
        out[#out + 1] = { op = "+", text = b[head + j] }; j = j + 1
      else
        out[#out + 1] = { op = "-", text = a[head + i] }; i = i + 1
      end
    end
  end
  for i = #a - tail + 1, #a do out[#out + 1] = { op = " ", text = a[i] } end
  return out
end

return M
