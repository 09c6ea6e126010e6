// Territoire public map: draws the zones of #map-data with Leaflet (served by the fleet from
// /static/vendor/leaflet). The page already says every figure in its table; without this
// file, or without JavaScript, the map stays hidden and nothing is lost.
(function () {
  "use strict";
  var holder = document.getElementById("map");
  var source = document.getElementById("map-data");
  if (!holder || !source || !window.L) {
    return;
  }
  var data = JSON.parse(source.textContent);
  if (!data.zones.length) {
    return;
  }
  holder.hidden = false;
  var map = L.map(holder, {
    attributionControl: false,
    zoomControl: false,
    scrollWheelZoom: false, // the page scrolls; the zoom buttons and keys still zoom
    zoomSnap: 0.25
  });
  L.control.zoom({zoomInTitle: data.labels.zoom_in, zoomOutTitle: data.labels.zoom_out})
    .addTo(map);
  if (data.tiles) {
    // the attribution was escaped by the fleet: the configured text shows as text
    L.tileLayer(data.tiles.url, {attribution: data.tiles.attribution, maxZoom: 19}).addTo(map);
    L.control.attribution({prefix: false}).addTo(map);
  }
  var layer = L.geoJSON(
    {
      type: "FeatureCollection",
      features: data.zones.map(function (z) {
        return {type: "Feature", properties: z, geometry: z.boundary};
      })
    },
    {
      style: function (feature) {
        return {color: "#1d2125", weight: 1.5, fillColor: feature.properties.colour,
                fillOpacity: 0.85, className: "zone-shape"};
      },
      onEachFeature: function (feature, shape) {
        var z = feature.properties;
        var tip = document.createElement("span"); // text, never HTML: names come from operators
        tip.textContent = z.name + " : " + z.value;
        shape.bindTooltip(tip, {sticky: true});
        shape.on("click", function () {
          window.location.assign(z.url);
        });
      }
    }
  );
  // the view first: Leaflet adds layers (and makes their paths) once the map has one
  map.fitBounds(layer.getBounds(), {padding: [8, 8]});
  layer.addTo(map);
  layer.eachLayer(function (shape) {
    var el = shape.getElement();
    if (el) {
      el.setAttribute("data-zone", shape.feature.properties.id);
    }
  });
})();
