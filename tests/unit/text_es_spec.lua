-- text (Spanish, Mexico): dates and times a salon customer writes on
-- WhatsApp, checked as instants in America/Mexico_City; yes/no, "any",
-- numbers in words, the built-in intents, questions, sentiment and the
-- language switch. Every table row is one spec.
--
-- Mexico City has kept UTC-6 all year since October 2022 (no daylight
-- saving): a date in July is also 6 hours behind UTC, which the rows
-- below check against instants computed by hand, not through tz.
local extract = require "text.extract"
local question = require "text.question"
local sentiment = require "text.sentiment"
local intents = require "flow.intents"
local engine = require "flow.engine"
local slot_types = require "flow.slot_types"
local tz = require "tz"

local MX = "America/Mexico_City"
-- Wednesday 2 December 2026, 10:00 in Mexico City (16:00 UTC)
local NOW = (tz.days_from_civil(2026, 12, 2) * 24 + 16) * 3600
local ON_NOW = { now = NOW, zone = MX }

-- the instant of y-m-d h:mi in Mexico City, by hand: UTC-6, no DST
local function mx(y, m, d, h, mi) return ((tz.days_from_civil(y, m, d) * 24 + h + 6) * 60 + mi) * 60 end

-- the instant a message names: its date and its time, in Mexico City
local function instant(text, opts)
  local date = extract.date(text, ON_NOW)
  local minutes = extract.time(text, opts)
  if not date or not minutes then return nil, date, minutes end
  local y, m, d = date:match("^(%d+)-(%d+)-(%d+)$")
  return tz.to_utc({ year = tonumber(y), month = tonumber(m), day = tonumber(d),
                     hour = math.floor(minutes / 60), min = minutes % 60 }, MX)
end

describe("Spanish dates and times as instants in America/Mexico_City", function()
  it("fixes now at Wednesday 2 December 2026, 10:00 local (UTC-6)", function()
    local lt = tz.local_time(NOW, MX)
    assert.are.same({ 2026, 12, 2, 10, 0, 3 }, { lt.year, lt.month, lt.day, lt.hour, lt.min, lt.wday })
  end)

  for _, c in ipairs({
    { "hoy a las 5", mx(2026, 12, 2, 17, 0) },
    { "mañana a las 5", mx(2026, 12, 3, 17, 0) },
    { "manana a las 4 de la tarde", mx(2026, 12, 3, 16, 0) },
    { "mñana a las 10 de la mañana", mx(2026, 12, 3, 10, 0) },
    { "pasado mañana a las 8 de la noche", mx(2026, 12, 4, 20, 0) },
    { "el jueves a las 5 y media", mx(2026, 12, 3, 17, 30) },
    { "este viernes 5pm", mx(2026, 12, 4, 17, 0) },
    { "el próximo lunes a las 4 y cuarto", mx(2026, 12, 7, 16, 15) },
    { "el lunes que viene a las 6 menos cuarto", mx(2026, 12, 7, 17, 45) },
    { "el miércoles a mediodía", mx(2026, 12, 2, 12, 0) },              -- a bare weekday counts today
    { "el proximo miercoles 17:00", mx(2026, 12, 9, 17, 0) },
    { "el sábado 17 hrs", mx(2026, 12, 5, 17, 0) },
    { "sabado a las 11 de la mañana", mx(2026, 12, 5, 11, 0) },
    { "el domingo a la 1", mx(2026, 12, 6, 13, 0) },
    { "el 15 a las 3", mx(2026, 12, 15, 15, 0) },
    { "el 1 a las 9", mx(2027, 1, 1, 9, 0) },                          -- passed this month: next month
    { "15 de diciembre a las 12", mx(2026, 12, 15, 12, 0) },
    { "el 20 de dic a las 7 de la noche", mx(2026, 12, 20, 19, 0) },
    { "15/12 a las 10:30", mx(2026, 12, 15, 10, 30) },
    { "15-12-2026 a las 2 de la tarde", mx(2026, 12, 15, 14, 0) },
    { "en dos días a las cinco", mx(2026, 12, 4, 17, 0) },
    { "dentro de una semana a las 6", mx(2026, 12, 9, 18, 0) },
    { "en 3 dias a las 12 de la noche", mx(2026, 12, 5, 0, 0) },
    { "el jueves a medianoche", mx(2026, 12, 3, 0, 0) },
    { "mañana en la mañana a las 9", mx(2026, 12, 3, 9, 0) },
    { "el día 18 a las 4:45 pm", mx(2026, 12, 18, 16, 45) },
    { "esta tarde a las 6", mx(2026, 12, 2, 18, 0) },
    { "1 de enero de 2027 a las 10 de la mañana", mx(2027, 1, 1, 10, 0) },
    { "15 de julio a las 10 de la mañana", mx(2027, 7, 15, 10, 0) },       -- July: still UTC-6
    { "el jueves 10 de diciembre a las 11 y media", mx(2026, 12, 10, 11, 30) },
    { "Mañana A LAS 5", mx(2026, 12, 3, 17, 0) },
    { "en un par de días a las cinco y veinte", mx(2026, 12, 4, 17, 20) },
    { "el viernes, cinco para las seis", mx(2026, 12, 4, 17, 55) },
    { "ayer a las 10", mx(2026, 12, 1, 10, 0) },
  }) do
    it(("reads %q as %s UTC"):format(c[1], os.date("!%Y-%m-%d %H:%M", c[2])), function()
      local got, date, minutes = instant(c[1])
      assert.are.equal(c[2], got, ("date %s, minutes %s"):format(tostring(date), tostring(minutes)))
    end)
  end

  for _, c in ipairs({
    { "miércoles", "2026-12-02" }, { "miercoles", "2026-12-02" }, { "jueves", "2026-12-03" },
    { "jeuves", "2026-12-03" }, { "viernes", "2026-12-04" }, { "sábado", "2026-12-05" },
    { "domingo", "2026-12-06" }, { "lunes", "2026-12-07" }, { "martes", "2026-12-08" },
    { "el lunes siguiente", "2026-12-07" }, { "hoy en la noche", "2026-12-02" },
    { "dic 24", "2026-12-24" }, { "3 de marzo", "2027-03-03" }, { "5 de enero de 2027", "2027-01-05" },
  }) do
    it(("reads the date %q as %s"):format(c[1], c[2]), function()
      assert.are.equal(c[2], (extract.date(c[1], ON_NOW)))
    end)
  end

  for _, text in ipairs({ "en la mañana", "por la tarde", "quiero una cita", "a las 5", "el que sea", "vie de nuevo" }) do
    it(("finds no date in %q"):format(text), function()
      assert.is_nil(extract.date(text, ON_NOW))
    end)
  end

  for _, text in ipairs({ "en la tarde", "mañana", "llego tarde", "en 2 hrs", "el 15", "somos 3" }) do
    it(("finds no time in %q"):format(text), function()
      assert.is_nil(extract.time(text))
    end)
  end
end)

describe("the am/pm rule for an hour said alone", function()
  it("reads 1-7 as afternoon and 8-11 as morning without opts", function()
    assert.are.same({ 1020, 480, 600 }, { extract.time("a las 5"), extract.time("a las 8"), (extract.time("a las 10")) })
  end)

  it("takes the reading inside opts.hours when only one of the two is inside", function()
    local salon = { hours = { "10:00-14:00", "15:00-20:30" } }
    assert.are.equal(20 * 60, extract.time("a las 8", salon))        -- 8 am is closed, 8 pm open
    assert.are.equal(17 * 60, extract.time("a las 5", salon))
    assert.are.equal(11 * 60, extract.time("a las 11", salon))
    local early = { hours = { "06:00-12:00" } }
    assert.are.equal(6 * 60, extract.time("a las 6", early))         -- the default would say 18:00
  end)

  it("falls back to opts.prefer when both readings or neither are inside", function()
    assert.are.equal(21 * 60, extract.time("a las 9", { prefer = "afternoon" }))
    assert.are.equal(3 * 60, extract.time("a las 3", { prefer = "morning" }))
    assert.are.equal(9 * 60, extract.time("a las 9", { hours = { "00:00-23:59" } }))   -- both: the default
  end)

  it("lets a part of the day, am/pm or a 24-hour reading win over opts", function()
    local salon = { hours = { "10:00-20:00" } }
    assert.are.equal(8 * 60, extract.time("a las 8 de la mañana", salon))
    assert.are.equal(8 * 60, extract.time("8am", salon))
    assert.are.equal(8 * 60, extract.time("a las 08:00", salon))
  end)

  it("raises on malformed opts", function()
    assert.has_error(function() extract.time("a las 5", { prefer = "noon" }) end)
    assert.has_error(function() extract.time("a las 5", { hours = "10-8" }) end)
    assert.has_error(function() extract.time("a las 5", 5) end)
  end)
end)

describe("Spanish parts of the day", function()
  for _, c in ipairs({ { "en la mañana", "morning" }, { "por la tarde", "afternoon" }, { "en la noche", "evening" },
                       { "mañana temprano", "morning" }, { "mañana", nil }, { "es muy tarde", nil } }) do
    it(("reads %q as %s"):format(c[1], tostring(c[2])), function()
      assert.are.equal(c[2], extract.daypart(c[1]))
    end)
  end
end)

describe("Spanish yes and no", function()
  for _, c in ipairs({
    { "sí", true }, { "Si", true }, { "SÍ", true }, { "claro", true }, { "claro que sí", true }, { "va", true },
    { "ok", true }, { "dale", true }, { "órale", true }, { "está bien", true }, { "pues sí", true },
    { "sí, por favor", true }, { "perfecto, gracias", true },
    { "no", false }, { "nel", false }, { "mejor no", false }, { "no gracias", false }, { "bueno, mejor no", false },
    { "no sé", nil }, { "tal vez", nil }, { "Clara", nil }, { "¿a las 5 está bien?", nil },
  }) do
    it(("reads %q as %s in Spanish"):format(c[1], tostring(c[2])), function()
      assert.are.equal(c[2], extract.yes_no(c[1], "es"))
      assert.are.equal(c[2], extract.yes_no(c[1]))              -- no lang: every language is read
    end)
  end

  it("leaves Spanish words out when lang is en or hi", function()
    assert.is_nil(extract.yes_no("claro", "en"))
    assert.is_nil(extract.yes_no("nel", "hi"))
    assert.is_true(extract.yes_no("haan", "hi"))
  end)
end)

describe("no preference and numbers in words", function()
  for _, c in ipairs({ { "cualquiera", true }, { "me da igual", true }, { "quien sea", true },
                       { "la que sea está bien", true }, { "anyone", true }, { "koi bhi", true },
                       { "no cualquiera", false }, { "any slots tomorrow?", false }, { "Ana", false } }) do
    it(("reads %q as %s"):format(c[1], tostring(c[2])), function()
      assert.are.equal(c[2], extract.any(c[1]))
    end)
  end

  for _, c in ipairs({ { "dos", 2 }, { "el tres", 3 }, { "la segunda", 2 }, { "opción 1", 1 }, { "1ro", 1 },
                       { "the second one", 2 }, { "4", 4 }, { "dos personas", nil }, { "no", nil } }) do
    it(("reads %q as the number %s"):format(c[1], tostring(c[2])), function()
      assert.are.equal(c[2], extract.number(c[1]))
    end)
  end

  it("lets a choice slot take a number in words and 'cualquiera'", function()
    local slot = { options = { { id = "ana", title = "Ana" }, { id = "luis", title = "Luis" },
                               { id = "any", title = "Quien esté libre" } } }
    local pick = function(text) return slot_types.choice.extract({ text = text }, slot, {}, true) end
    assert.are.equal("luis", pick("el dos"))
    assert.are.equal("any", pick("me da igual"))
    assert.are.equal("ana", pick("Ana"))
  end)
end)

describe("built-in intents in Spanish", function()
  for _, c in ipairs({
    { "cancelar", "cancel" }, { "cancela mi cita", "cancel" }, { "ya no", "cancel" },
    { "empezar de nuevo", "restart" }, { "quiero hablar con una persona", "human" }, { "con un humano", "human" },
    { "con la dueña", "human" }, { "con el dueño", "human" }, { "con alguien", "human" }, { "ayuda", "help" },
    { "cambiar mi cita", "reschedule" }, { "reagendar", "reschedule" }, { "mover mi cita", "reschedule" },
    { "¿cuánto cuesta?", "price" }, { "cuanto cuesta el tinte", "price" }, { "precios", "price" },
    { "cita", nil }, { "quiero una cita", nil }, { "ya no puedo el jueves, mejor el viernes", nil },
    { "quiero cita con la dueña el jueves", nil }, { "una cita para una persona", nil }, { "no quiero tinte", nil },
  }) do
    it(("reads %q as %s"):format(c[1], tostring(c[2])), function()
      assert.are.equal(c[2], intents.detect(c[1]))
    end)
  end

  it("hands back to the bot on 'continuar' and 'seguir'", function()
    assert.is_true(intents.resumes("continuar"))
    assert.is_true(intents.resumes("seguir"))
    assert.is_false(intents.resumes("cancelar"))
  end)

  it("folds the accents of a tenant's own phrases too", function()
    assert.are.equal("human", intents.detect("con la recepción", { human = { "la recepción" } }))
    assert.are.equal("human", intents.detect("con la recepcion", { human = { "la recepción" } }))
  end)
end)

describe("Spanish questions", function()
  for _, c in ipairs({
    { "¿qué servicios tienen?", true }, { "¿cuándo abren?", true }, { "dónde están", true }, { "donde estan", true },
    { "cuanto cuesta", true }, { "tienen lugar mañana", true }, { "hay lugar el jueves", true },
    { "hola, ¿a qué hora abren?", true }, { "buenos días, cuánto cuesta el corte", true },
    { "¿mañana a las 5?", false }, { "como a las 5", false }, { "quien sea", false }, { "que sea a las 5", false },
    { "cuando puedas", false }, { "mañana a las 5", false }, { "Ana López", false },
  }) do
    it(("reads %q as %s"):format(c[1], c[2] and "a question" or "an answer"), function()
      assert.are.equal(c[2], question.is(c[1]))
    end)
  end
end)

describe("Spanish and sentiment", function()
  for _, text in ipairs({ "hola, quiero una cita para mañana a las 5", "no, mejor el jueves", "ya no", "llego tarde",
                          "nel", "mejor no", "me da igual", "cualquiera", "no sé", "quiero hablar con la dueña",
                          "es muy tarde", "no no no", "no puedo mañana", "sale" }) do
    it(("reads no anger or boredom in %q"):format(text), function()
      assert.is_nil(sentiment.disengage(sentiment.score(text)))
    end)
  end

  it("reads anger and boredom said in Spanish", function()
    assert.are.equal("angry", sentiment.disengage(sentiment.score("qué mal servicio, pésimo")))
    assert.are.equal("bored", sentiment.disengage(sentiment.score("olvídalo")))
  end)
end)

describe("the conversation's language with Spanish", function()
  local es_only, es_en = { languages = { "es" } }, { languages = { "es", "en" } }
  it("stays Spanish whatever the customer writes", function()
    assert.are.equal("es", (engine.language(es_only, "es", "ok 5pm")))
    assert.are.equal("es", (engine.language(es_only, "es", "english")))
    assert.are.equal("es", (engine.language(es_en, "es", "hello, tomorrow at 5")))
  end)

  it("switches on a language's name alone when the tenant speaks it", function()
    assert.are.same({ "en", true }, { engine.language(es_en, "es", "inglés") })
    assert.are.same({ "en", true }, { engine.language(es_en, "es", "English please") })
    assert.are.same({ "es", true }, { engine.language(es_en, "en", "en español") })
    assert.are.same({ "es", true }, { engine.language(es_en, "en", "spanish") })
  end)
end)
