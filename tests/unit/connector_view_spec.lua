-- What a tenant declares and reaches: connectors.view (the declaration check
-- and c.connectors) and connectors.host's refusals before any request.
local view = require "connectors.view"
local chost = require "connectors.host"
local config_env = require "flow.config_env"

describe("connectors.view.declare", function()
  it("accepts a declaration that names its credentials by environment variable", function()
    local d = { odoo = { url = "https://erp.example", db = "prod", login_env = "HVAC_ODOO_LOGIN", key_env = "HVAC_ODOO_KEY" },
                zoom = { account_id_env = "HVAC_ZOOM_ACCOUNT", client_id_env = "HVAC_ZOOM_ID", client_secret_env = "HVAC_ZOOM_SECRET" } }
    assert.are.equal(d, view.declare(d, "hvac"))
  end)

  it("names what is wrong: an unknown connector, a missing *_env, a bad url, a table value", function()
    local function problem(d) return select(2, view.declare(d, "hvac")) end
    assert.matches("unknown connector", problem{ salesforce = {} })
    assert.matches("connectors.odoo.key_env must name the environment variable",
      problem{ odoo = { url = "https://e", db = "x", login_env = "HVAC_L" } })
    assert.matches("url must be an http", problem{ frappe = { url = "file:///etc/passwd", key_env = "A", secret_env = "B" } })
    assert.matches("must be a string, number or boolean",
      problem{ frappe = { url = "https://e", key_env = "A", secret_env = "B", extra = { x = 1 } } })
    assert.matches("timeout must be a positive number",
      problem{ frappe = { url = "https://e", key_env = "A", secret_env = "B", timeout = -1 } })
  end)
end)

describe("connectors.host", function()
  it("answers 'not configured' for a secret the tenant may not read, before any request", function()
    local v, word, detail = chost.call{ tenant = "hvac", name = "frappe", op = "list", args = { "X" },
      decl = { url = "http://127.0.0.1:9", key_env = "FLOWHOST_ADMIN_TOKEN", secret_env = "HVAC_FRAPPE_SECRET" } }
    assert.are.same({ nil, "not configured" }, { v, word })
    assert.matches("FLOWHOST_ADMIN_TOKEN is not a variable this tenant may read", detail)
  end)

  it("answers 'not configured' when an allowed variable is not set", function()
    local _, word, detail = chost.call{ tenant = "hvac", name = "frappe", op = "list", args = { "X" },
      decl = { url = "http://127.0.0.1:9", key_env = "HVAC_NOT_SET_1", secret_env = "HVAC_NOT_SET_2" } }
    assert.are.equal("not configured", word)
    assert.matches("HVAC_NOT_SET_1 is not set", detail)
  end)

  it("answers 'bad request' for an op the connector does not have", function()
    assert.are.equal("bad request", select(2, chost.call{ tenant = "hvac", name = "odoo", op = "execute_raw", decl = {} }))
    assert.are.equal("bad request", select(2, chost.call{ tenant = "hvac", name = "http", op = "get", decl = {} }))
  end)
end)

describe("config_env", function()
  it("lets every tenant read the Google and Zoom endpoint variables, and no other GOOGLE_ one", function()
    for _, n in ipairs{ "GOOGLE_OAUTH_TOKEN_URL", "GOOGLE_CALENDAR_API_URL", "ZOOM_OAUTH_TOKEN_URL", "ZOOM_API_URL" } do
      assert.is_true(config_env.allowed("hvac", n))
    end
    assert.is_false(config_env.allowed("hvac", "GOOGLE_APPLICATION_CREDENTIALS"))
  end)
end)
